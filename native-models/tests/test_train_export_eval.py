import json

import pytest
import torch

from conftest import LABEL_DIR, need
from neuroverse3d import ModelConfig, Neuroverse3D
from neuroverse3d import evaluate as E
from neuroverse3d import export as X
from neuroverse3d import train as TR
from neuroverse3d.safetensors_io import load_file, save_file


def test_context_size_schedule(gen):
    assert all(TR.context_size(s, 100, gen) == 3 for s in range(100))
    later = {TR.context_size(100 + s, 100, gen) for s in range(400)}
    assert later == set(range(1, 9))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    need(LABEL_DIR)
    run = tmp_path_factory.mktemp("run")
    def args(max_steps):
        return ["--run-dir", str(run), "--channels", "2,4,8", "--grid", "32", "--budget-minutes", "5",
                "--max-steps", str(max_steps), "--log-every", "1", "--total-steps", "4"]

    assert TR.main(args(2)) == 0
    first = TR.load_checkpoint(run / "last.pt")
    assert first["step"] == 2
    assert TR.main(args(3)) == 0
    return run, first


def test_training_resumes_and_logs(trained):
    run, first = trained
    ckpt = TR.load_checkpoint(run / "last.pt")
    assert ckpt["step"] == 3
    assert ckpt["elapsed_s"] >= first["elapsed_s"]
    lines = [json.loads(l) for l in (run / "log.jsonl").read_text().splitlines()]
    assert [l["step"] for l in lines] == [1, 2, 3]
    assert all(l["L"] == 3 for l in lines) and all(l["loss"] > 0 for l in lines)
    # The resumed run continued from the saved weights, not from a fresh initialisation.
    assert any(not torch.equal(first["model"][k], v) for k, v in ckpt["model"].items())
    assert [l.split()[1] for l in (run / "progress.txt").read_text().splitlines()] == ["1", "2", "3"]


def test_zero_budget_saves_without_stepping(tmp_path):
    need(LABEL_DIR)
    assert TR.main(["--run-dir", str(tmp_path), "--channels", "2,4,8", "--grid", "32",
                    "--budget-minutes", "0"]) == 0
    assert TR.load_checkpoint(tmp_path / "last.pt")["step"] == 0


def test_safetensors_roundtrip_and_header(tmp_path):
    t = {"a.weight": torch.randn(3, 2, 1, 1, 1), "a.bias": torch.arange(5, dtype=torch.int64),
         "h": torch.randn(4).half()}
    save_file(t, tmp_path / "x.safetensors", metadata={"k": "v"})
    raw = (tmp_path / "x.safetensors").read_bytes()
    n = int.from_bytes(raw[:8], "little")
    assert n % 8 == 0
    header = json.loads(raw[8:8 + n])
    assert header["a.weight"] == {"dtype": "F32", "shape": [3, 2, 1, 1, 1], "data_offsets": [0, 24]}
    back, meta = load_file(tmp_path / "x.safetensors")
    assert meta == {"k": "v"} and list(back) == list(t)
    for k in t:
        assert torch.equal(back[k], t[k])


def test_export_uses_official_names_and_reloads(trained, tmp_path):
    run, _ = trained
    prefixed, _ = load_file(X.export(run / "last.pt", tmp_path / "p", net_prefix=True)["weights"])
    assert all(k.startswith("net.") for k in prefixed)
    assert "net.context_unet.context_embedding.module.weight" in prefixed
    paths = X.export(run / "last.pt", tmp_path)
    tensors, meta = load_file(paths["weights"])
    assert list(tensors) == [k[len("net."):] for k in prefixed]
    assert meta["key_prefix"] == "" and meta["channels"] == "2,4,8"
    arch = json.loads(paths["architecture"].read_text())
    assert arch["key_prefix"] == ""
    assert arch["channels"] == [2, 4, 8] and arch["grid"] == [32, 32, 32] and arch["training_steps"] == 3
    model = Neuroverse3D(ModelConfig(channels=arch["channels"], grid=32))
    model.load_state_dict(tensors)
    ckpt = TR.load_checkpoint(run / "last.pt")
    for k, v in model.state_dict().items():
        assert torch.equal(v, ckpt["model"][k])


def test_dice_and_psnr():
    a = torch.zeros(10, dtype=torch.bool)
    b = a.clone()
    a[:4] = True
    b[2:6] = True
    assert E.dice(a, b) == pytest.approx(0.5)
    assert E.dice(torch.zeros(3), torch.zeros(3)) == 1.0
    x = torch.zeros(100)
    assert E.psnr(x + 0.1, x) == pytest.approx(20.0)


def test_evaluation_table_runs_with_baselines(trained):
    run, _ = trained
    model = TR.build_model_from_checkpoint(TR.load_checkpoint(run / "last.pt"))
    scores = E.evaluate(model, 32, sizes=(1, 2), repeats=1, targets=[17], structures=["hippocampus", "cortex"],
                        gen_tasks=["super_resolution"], progress=lambda *_: None)
    assert set(scores) == {"hippocampus", "cortex", "super_resolution"}
    assert set(scores["cortex"]) == {"model", "context_mean"}
    assert set(scores["super_resolution"]) == {"model", "context_mean", "identity"}
    # The context-mean baseline sees real anatomy, so it overlaps the cortex of another brain noticeably.
    assert scores["cortex"]["context_mean"][1][0] > 0.2
    table = E.format_table(scores, (1, 2), ["hippocampus", "cortex"], ["super_resolution"])
    assert "| cortex | context_mean |" in table and "L=2" in table


def test_sigterm_saves_a_checkpoint(tmp_path):
    need(LABEL_DIR)
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ, PYTHONPATH=str(root))
    proc = subprocess.Popen([sys.executable, "-m", "neuroverse3d.train", "--run-dir", str(tmp_path),
                             "--channels", "2,4,8", "--grid", "32", "--budget-minutes", "5", "--log-every", "1"],
                            cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        for line in proc.stdout:
            if line.startswith("step 1 "):
                break
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out
    assert TR.load_checkpoint(tmp_path / "last.pt")["step"] >= 1


def test_log_summary_windows():
    from neuroverse3d.log_summary import summarise
    lines = [{"step": s, "task": "bias" if s % 2 else "segmentation", "loss_unweighted": 1.0 / s, "seconds": 2.0,
              "elapsed_s": 2.0 * s} for s in range(1, 11)]
    text = summarise(lines, 2)
    assert "| 1-5 | 2.0 |" in text and "| 6-10 | 2.0 |" in text and "10 steps" in text


def test_generation_only_table(trained):
    run, _ = trained
    model = TR.build_model_from_checkpoint(TR.load_checkpoint(run / "last.pt"))
    scores = E.evaluate(model, 32, sizes=(1,), repeats=1, targets=[18], structures=[], gen_tasks=["bias"],
                        progress=lambda *_: None)
    table = E.format_table(scores, (1,), [], ["bias"])
    assert "Dice" not in table and "| bias | identity |" in table
