import torch

from conftest import KEYS_TSV, need
from neuroverse3d import ModelConfig, Neuroverse3D, count_parameters, preset


def test_official_key_list_shapes_and_parameter_count():
    need(KEYS_TSV)
    rows = [line.rstrip("\n").split("\t") for line in KEYS_TSV.read_text().splitlines() if line.strip()]
    model = Neuroverse3D(preset("official"))
    state = model.state_dict()
    assert len(state) == len(rows) == 132
    for (key, tensor), (ref_key, ref_shape, ref_numel) in zip(state.items(), rows):
        assert "net." + key == ref_key
        assert str(list(tensor.shape)) == ref_shape
        assert tensor.numel() == int(ref_numel)
    assert count_parameters(model) == 70_854_913
    assert sum(int(r[2]) for r in rows) == 70_854_913


def test_official_submodule_totals():
    model = Neuroverse3D(preset("official"))
    assert count_parameters(model.context_unet) == 35_137_376
    assert count_parameters(model.target_encoder) == 15_843_264
    assert count_parameters(model.target_decoder) == 19_874_273


def test_small_config_keeps_the_key_pattern():
    model = Neuroverse3D(ModelConfig(channels=[4, 8, 16], grid=16))
    keys = list(model.state_dict())
    assert keys[0] == "context_unet.context_embedding.module.weight"
    assert "context_unet.enc_blocks.1.combine_conv_context.module.weight" in keys
    assert "context_unet.enc_blocks.2.context_conv.module.layers.2.weight" in keys
    assert "context_unet.enc_blocks.2.combine_conv_context.module.weight" not in keys  # no fusion at the bottleneck
    assert "target_decoder.enc_blocks.0.combine_conv_target.module.weight" in keys
    assert keys[-1] == "target_decoder.output_block.block.1.bias"


def _small(seed=0, dtype=torch.float32):
    torch.manual_seed(seed)
    return Neuroverse3D(ModelConfig(channels=[4, 8, 16], grid=16)).to(dtype)


def test_forward_shape_and_partition_invariance():
    model = _small().eval()
    x = torch.rand(2, 1, 16, 16, 16)
    ci = torch.rand(2, 5, 1, 16, 16, 16)
    cl = (torch.rand(2, 5, 1, 16, 16, 16) > 0.5).float()
    with torch.no_grad():
        ref = model(x, ci, cl, mini_context=5)
        assert ref.shape == (2, 1, 16, 16, 16)
        for l in (1, 2, 3, 4):
            for order in (None, list(reversed(range(-(-5 // l))))):
                out = model(x, ci, cl, mini_context=l, order=order)
                assert torch.allclose(out, ref, atol=1e-5), (l, order)


def test_output_invariant_to_context_order():
    model = _small().eval()
    x = torch.rand(1, 1, 16, 16, 16)
    ci = torch.rand(1, 4, 1, 16, 16, 16)
    cl = torch.rand(1, 4, 1, 16, 16, 16)
    perm = torch.tensor([2, 0, 3, 1])
    with torch.no_grad():
        a = model(x, ci, cl, mini_context=2)
        b = model(x, ci[:, perm], cl[:, perm], mini_context=2)
    assert torch.allclose(a, b, atol=1e-5)


def test_output_depends_on_context_labels():
    model = _small().eval()
    x = torch.rand(1, 1, 16, 16, 16)
    ci = torch.rand(1, 2, 1, 16, 16, 16)
    with torch.no_grad():
        a = model(x, ci, torch.zeros_like(ci))
        b = model(x, ci, torch.ones_like(ci))
    assert (a - b).abs().max() > 1e-4
