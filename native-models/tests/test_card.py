from neuroverse3d.card import build_card


def _eval(model_vals, base_vals):
    # evaluate.py's JSON shape: scores[structure][method][L] = list over repeats x targets.
    return {"header": "h", "scores": {
        s: {"model": {"1": [m / 2] * 2, "8": [m, m]}, "context_mean": {"1": [b] * 2, "8": [b, b]}}
        for s, m, b in zip(("thalamus", "hippocampus"), model_vals, base_vals)}}


def test_card_reports_measured_numbers_and_where_the_baseline_is_beaten():
    ckpt = {"step": 1234, "elapsed_s": 7200.0, "hardware": "cpu", "config": {"channels": [8, 16], "grid": 64}}
    gen = {"scores": {"bias": {"model": {"8": [20.0]}, "context_mean": {"8": [15.0]}, "identity": {"8": [18.0]}}}}
    card = build_card(ckpt, {"args": {"lr": "0.001", "task_rates": "{'segmentation': 8.0}"}},
                      _eval((0.8, 0.2), (0.6, 0.3)), gen, history="resumed once")
    seg = card["segmentation"]
    assert seg["table"] == [{"structure": "thalamus", "model": 0.8, "baseline": 0.6},
                            {"structure": "hippocampus", "model": 0.2, "baseline": 0.3}]
    assert seg["beatsBaselineOn"] == ["thalamus"]
    assert seg["average"]["model"] == [0.25, 0.5] and seg["average"]["baseline"] == [0.45, 0.45]
    assert card["generation"]["table"] == [{"task": "bias", "model": 20.0, "baseline": 15.0, "identity": 18.0}]
    assert card["training"]["steps"] == 1234 and card["training"]["hours"] == 2.0
    assert card["training"]["history"] == "resumed once"
    assert "0.50 average over 2 structures" in card["summary"] and "beats the baseline on 1 of 2" in card["summary"]
