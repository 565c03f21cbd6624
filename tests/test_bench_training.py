"""benchmarks/training_suspects.py: the suspect options of bench_training.py, parsed, checked and applied."""

import argparse

import keras
import numpy as np
import pytest

import benchmark_scripts

training_suspects = benchmark_scripts.load("training_suspects")


def _parsed(argv):
    parser = argparse.ArgumentParser(prog="bench_training.py")
    training_suspects.add_flags(parser)
    args = parser.parse_args(argv)
    return args, training_suspects.check(args, parser)


def test_dataset_options_keep_json_values_and_strings():
    _, options = _parsed(["--dataset_option=patches_per_visit=16", "--dataset_option=deterministic=True",
                          "--dataset_option=mode=fast"])
    assert options == {"patches_per_visit": 16, "deterministic": True, "mode": "fast"}


@pytest.mark.parametrize("argv, message", [
    (["--tf_threads=2"], "--tf_threads: INTRA,INTER"),
    (["--dataset_option=patches_per_visit"], "--dataset_option: KEY=VALUE, got 'patches_per_visit'"),
])
def test_bad_option_is_a_one_line_parser_error(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        _parsed(argv)
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == f"bench_training.py: error: {message}"


def test_depth_to_space_by_reshape_is_keras_shuffle():
    x = np.random.default_rng(1).random((2, 3, 5, 12), np.float32)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(training_suspects.depth_to_space_by_reshape(x, 2)),
                                  keras.ops.convert_to_numpy(keras.ops.depth_to_space(x, 2)))


def test_apply_describes_the_options_it_sets():
    args, _ = _parsed(["--activation=relu", "--optimizer=sgd", "--torch_channels_last"])
    notes = training_suspects.apply(args)
    assert notes[0].startswith("TF threads intra ")
    assert notes[1:] == ["ESPCN activation relu (both sides)", "optimizer sgd (both sides)", "PyTorch channels_last"]
