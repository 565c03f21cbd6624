"""The pretrained zoo: manifest, sha256 checks, the table, and every shipped model's Set5 number."""

import json
import pathlib
import shutil
import subprocess
import sys

import pytest

from sr_zoo import evaluation, pretrained, recipes, zoo_tools

ROOT = pathlib.Path(__file__).resolve().parent.parent
SHIPPED = sorted(pretrained.available())


def test_manifest_entries_are_complete_and_named_by_the_zoo():
    assert "espcn_x3" in SHIPPED
    for name, entry in pretrained.available().items():
        zoo = recipes.zoo(name)  # every shipped name is a zoo model
        assert (entry["model"], entry["scale"], entry["channels"]) == (zoo.model, zoo.scale, zoo.channels)
        for key in ("sha256", "parameters", "gmacs_per_1080p_frame", "training", "measured", "paper"):
            assert entry[key] is not None, (name, key)
        assert entry["training"]["command"].startswith("python train.py"), name
        for b in pretrained.BENCHMARKS:
            assert 0 < entry["measured"]["bicubic"][b]["psnr"] < entry["measured"][b]["psnr"], (name, b)
    with pytest.raises(ValueError, match="unknown pretrained model 'nope'; available: .*espcn_x3"):
        pretrained.path("nope")


def test_load_checks_the_sha256(tmp_path, monkeypatch):
    weights = tmp_path / "weights"
    shutil.copytree(pretrained.WEIGHTS_DIR, weights)
    monkeypatch.setattr(pretrained, "WEIGHTS_DIR", weights)
    monkeypatch.setattr(pretrained, "MANIFEST", weights / "manifest.json")
    model = pretrained.load("espcn_x3")
    assert model.count_params() == pretrained.available()["espcn_x3"]["parameters"]
    data = bytearray((weights / "espcn_x3.keras").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (weights / "espcn_x3.keras").write_bytes(bytes(data))
    with pytest.raises(pretrained.IntegrityError, match=r"espcn_x3.keras: sha256 .* does not match the manifest"):
        pretrained.load("espcn_x3")


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_model_reproduces_its_set5_number(name, data_dir):
    entry = pretrained.available()[name]
    methods, scales, _ = evaluation.methods_from_flag(name)
    bicubic, model = evaluation.evaluate(methods, ["set5"], scales, data_dir=data_dir)
    assert model.psnr == pytest.approx(entry["measured"]["set5"]["psnr"], abs=0.01)
    assert model.ssim == pytest.approx(entry["measured"]["set5"]["ssim"], abs=0.0005)
    assert bicubic.psnr == pytest.approx(entry["measured"]["bicubic"]["set5"]["psnr"], abs=0.01)


def test_command_line_table_and_the_readme_carry_the_manifest_numbers():
    result = subprocess.run([sys.executable, "-m", "sr_zoo.pretrained", "--markdown"], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == zoo_tools.table(markdown=True).strip()
    for name in recipes.ZOO:  # every zoo model has a row, shipped or not
        assert f"| `{name}` |" in result.stdout
    for name, entry in pretrained.available().items():
        assert f"**{entry['measured']['set5']['psnr']:.2f}**" in result.stdout
    readme = (ROOT / "README.md").read_text()
    assert zoo_tools.table(markdown=True).strip() in readme, (
        "README's zoo table is stale: run `python -m sr_zoo.pretrained --update_readme`")
    assert zoo_tools.compute_table().strip() in readme, (
        "README's compute table is stale: run `python -m sr_zoo.pretrained --update_readme`")
    assert zoo_tools.int8_table().strip() in readme, (
        "README's int8 table is stale: run `python -m sr_zoo.pretrained --update_readme`")
    for name, entry in pretrained.available().items():  # every shipped int8 file has its row with its numbers
        if "int8" in entry:
            assert f"| `{name}` | {entry['int8']['measured']['set5']['float']:.2f} / " in readme
    plain = subprocess.run([sys.executable, "-m", "sr_zoo.pretrained"], cwd=ROOT, capture_output=True, text=True,
                           timeout=120)
    assert plain.returncode == 0 and "espcn_x3" in plain.stdout
    assert ("not trained yet" in plain.stdout) == (len(SHIPPED) < len(recipes.ZOO))


def test_manifest_json_is_valid_and_sorted_like_the_zoo():
    entries = json.loads(pretrained.MANIFEST.read_text())
    order = [n for n in recipes.ZOO if n in entries]
    assert list(entries) == order


def test_training_compute_counts_three_forward_passes_of_a_batch():
    # ESPCN x3 multiply-adds per LR pixel: 5x5x1x64 + 3x3x64x32 + 3x3x32x9; its recipe's 32x32 LR patches, batch 32
    macs = 5 * 5 * 1 * 64 + 3 * 3 * 64 * 32 + 3 * 3 * 32 * 9
    zoo_model = recipes.ZOO["espcn_x3"]
    compute = zoo_model.training_compute()
    steps = int(zoo_model.flag("epochs")) * int(zoo_model.flag("steps_per_epoch"))  # the recipe's latest cycle
    assert compute["batch_size"] == 32 and compute["steps"] == steps > 1000
    assert compute["flops_per_step"] == 3 * 2 * macs * 32 * 32 * 32
    assert compute["flops"] == compute["flops_per_step"] * steps
    tiny = recipes.ZOO["edsr-tiny_x2"].training_compute()  # --model_options=filters=4 is applied
    assert tiny["batch_size"] == 32 and tiny["flops_per_step"] < compute["flops_per_step"]


def _set5_and_two_images_of_the_others(data_dir, root):
    """The whole of Set5 (publish's gate, compared with the shipped number) and the first two x3 pairs of
    Set14 and B100: publish measures those after the gate; how many images it reads there is not the point."""
    root.mkdir()
    (root / "Set5").symlink_to(data_dir / "Set5", target_is_directory=True)
    for name in ("Set14", "B100"):
        folder = root / name / "SelfExSR" / "image_SRF_3"
        folder.mkdir(parents=True)
        for hr in sorted((data_dir / name / "SelfExSR" / "image_SRF_3").glob("*_HR.png"))[:2]:
            for path in (hr, hr.with_name(hr.name.replace("_HR.png", "_LR.png"))):
                (folder / path.name).symlink_to(path)
    return root


def test_publish_refuses_a_model_below_the_shipped_one(tmp_path, monkeypatch, data_dir):
    from sr_zoo import models

    weights = tmp_path / "weights"
    shutil.copytree(pretrained.WEIGHTS_DIR, weights)
    monkeypatch.setattr(pretrained, "WEIGHTS_DIR", weights)
    monkeypatch.setattr(pretrained, "MANIFEST", weights / "manifest.json")
    before = {p.name: p.read_bytes() for p in weights.iterdir()}
    untrained = tmp_path / "untrained.keras"
    models.get("espcn", scale=3).save(untrained)
    data = _set5_and_two_images_of_the_others(data_dir, tmp_path / "data")
    with pytest.raises(ValueError, match=r"untrained.keras: Set5 \d+\.\d{4} dB is below the shipped espcn_x3's "
                                         r"\d+\.\d{4} dB; nothing replaced \(--allow_worse"):
        zoo_tools.publish("espcn_x3", untrained, data_dir=data, training={})
    assert {p.name: p.read_bytes() for p in weights.iterdir()} == before
    entry = zoo_tools.publish("espcn_x3", untrained, data_dir=data, training={}, allow_worse=True)
    assert entry["measured"]["set5"]["psnr"] < 30 and set(entry["measured"]) >= set(pretrained.BENCHMARKS)
    assert pretrained.available()["espcn_x3"]["sha256"] == pretrained.sha256(weights / "espcn_x3.keras")


def test_each_shipped_file_was_trained_by_its_recipe():
    # sr_zoo.recipes is the record of how each shipped file was made: a recipe edited for a new cycle is
    # published with that cycle's file (or reverted), so the two never disagree.
    for name, entry in pretrained.available().items():
        z = recipes.zoo(name)
        assert entry["training"]["command"] == z.command(), f"{name}: shipped by another command than its recipe's"
        assert entry["training"]["changes_from_paper"] == z.changes, f"{name}: recipe changes reworded since shipping"
        assert entry["training"].get("warm_start") == z.warm_start, name


def test_warm_starts_name_a_zoo_model_of_the_same_network():
    for name, z in recipes.ZOO.items():
        if z.warm_start:
            source = recipes.zoo(z.warm_start)
            assert (source.model, source.preset, source.channels) == (z.model, z.preset, z.channels), name
            assert z.command().endswith(f"--warm_start={z.warm_start}")
            assert z.command().count("--warm_start=") == 1
    for name, entry in pretrained.available().items():
        training = entry["training"]
        if training.get("warm_start") in recipes.ZOO:  # started from a shipped file: its hash is recorded
            assert len(training["warm_start_sha256"]) == 64, name
            assert training["command"].count("--warm_start=") == 1, name
            # and the runs behind it, newest first, each with its command and FLOPs
            first = training["lineage"][0]
            assert (first["model"], first["sha256"]) == (training["warm_start"], training["warm_start_sha256"])
            for stage, earlier in zip(training["lineage"], training["lineage"][1:] + [None]):
                assert stage["command"].startswith("python train.py") and stage["flops"] > 0, name
                assert ("--warm_start=" in stage["command"]) == (earlier is not None), name
                assert earlier is None or stage["command"].endswith(f"--warm_start={earlier['model']}"), name
        else:
            assert training["lineage"] == [], name


def test_compute_report_has_every_zoo_model_and_the_spent_share():
    report = zoo_tools.compute_table().splitlines()
    rows = {line.split()[0]: line for line in report[1:-1]}
    assert list(rows) == list(recipes.ZOO)
    for name, entry in pretrained.available().items():
        own, spent = zoo_tools.spent_flops(name)
        assert own == (entry["training"].get("flops") or
                       entry["training"]["steps_run"] * recipes.ZOO[name].training_compute()["flops_per_step"])
        assert spent == own + sum(stage["flops"] for stage in entry["training"]["lineage"]), name
        share = spent / recipes.ZOO[name].training_compute(paper_recipe=True)["flops"]
        assert entry["compute"] == zoo_tools.compute_record(recipes.ZOO[name], entry["training"]), name
        assert entry["compute"]["spent_flops"] == spent and entry["compute"]["lineage_complete"], name
        assert rows[name].split()[-1] == f"{share:.2g}", name
    for name in set(recipes.ZOO) - set(pretrained.available()):
        assert "not trained yet" in rows[name]


def test_figure_has_a_row_per_scale_and_image_and_the_models_beat_bicubic_on_their_crops(tmp_path, data_dir):
    from PIL import Image

    out, rows = zoo_tools.figure(tmp_path / "zoo.png", names=["espcn_x3", "fsrcnn-s_x3", "edsr-tiny_x2"],
                                  data_dir=data_dir)
    assert [(s, b) for s, b, _, _ in rows] == [(2, "set5"), (2, "set14"), (3, "set5"), (3, "set14")]
    with Image.open(out) as sheet:  # 2 models at x3 + bicubic + HR columns of 192 px; 4 rows of 192 + labels
        assert sheet.size == (4 * 192, 4 * (192 + 28))
    for scale, _, image, scores in rows:
        labels = [label for label, _ in scores]
        assert labels[0] == f"bicubic x{scale}" and len(labels) == (2 if scale == 2 else 3)
        bicubic = scores[0][1]
        assert all(psnr > bicubic for _, psnr in scores[1:]), (image, scores)
