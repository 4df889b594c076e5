import { mount } from 'svelte';
import App from './App.svelte';
import './app.css';
import { connect } from './lib/client';

const client = connect();
mount(App, { target: document.getElementById('app')!, props: { client } });
