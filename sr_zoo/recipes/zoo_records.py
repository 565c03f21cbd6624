"""The pretrained zoo: every shipped model's training recipe (:data:`ZOO`) and its int8 fine-tune
(:data:`INT8`), one entry per model, with what each cycle taught beside it."""

from sr_zoo.recipes.deep_models import edsr_zoo, lapsrn_zoo
from sr_zoo.recipes.light_models import espcn_zoo, fsrcnn_zoo, srcnn_zoo
from sr_zoo.recipes.zoo_model import T91, T91_BSD200, ZooModel


#: Every model of the pretrained zoo, by name (``<model>[-<preset>]_x<scale>``).
ZOO = {z.name: z for z in [
    # Step counts sized to finish within a 2-core CPU session (see each model's manifest entry)
    # x2's target: FSRCNN-s x2's numbers. x2 and x4 first started from the x3 features (x2 after 6k steps:
    # 35.26 dB, against 35.16 after 20k from scratch); their later cycles start from their shipped files, the
    # last ones on T91 alone (see DATA; x2: 5k steps at 2e-4, then 15k at 3e-4; x4: 5k at 2e-4). x2's next,
    # on 48x48 LR patches (_ESPCN_PATCHES, tried first at x3; x2 ships no int8 weights to keep in step):
    # 25k steps at 3e-4, 13 min alone, Set5 36.32 -> 36.39 dB, best at its last step (36.38-36.39 over the
    # last quarter). Not shipped: the next 48x48 cycle, 40k steps at 2e-4 from the shipped file (29 ms a step
    # alone, 19m 33s), Set5 36.39 -> 36.42 (best at 33k; 36.40-36.42 over its last quarter), under publish's 0.05
    espcn_zoo(2, {"set5": 36.58, "set14": 32.28, "b100": None}, epochs=25, learning_rate="3e-4",
               warm_start="espcn_x2", datasets=T91, lr_patch_size=48),
    # a sixth cycle from the shipped file, on 32x32 LR patches (96x96 HR: 48x48 would drop 17 of T91's images) in
    # batches of 32 (_ESPCN_PATCHES), on T91 alone (see DATA; the fifth: 15k steps of 17x17 at 3e-4, the fourth 5k
    # at 2e-4; the first three, on the 291 images: the lineage): 40k steps at 3e-4 in bfloat16 (auto; 37-41 ms a
    # step alone on the AMD EPYC, 24m 20s), Set5 32.41 -> 32.47 dB (best at its last step; 32.457-32.468 over the
    # last quarter, still rising by 0.01 dB)
    espcn_zoo(3, {"set5": 32.55, "set14": 29.08, "b100": None}, epochs=40, learning_rate="3e-4",
               warm_start="espcn_x3", datasets=T91, lr_patch_size=32),
    # x4's next, on 32x32 LR patches (128x128 HR: 48x48 would drop 51 of T91's 91 images, 32x32 drops 7) in batches
    # of 32, from the shipped file (5k steps at 2e-4 on T91 before it): 40k steps at 3e-4 in bfloat16 (auto; 48 ms
    # a step alone on the AMD EPYC, 31m 24s), Set5 30.17 -> 30.24 dB (best at 36k; 30.22-30.24 over the last quarter)
    espcn_zoo(4, {"set5": 30.90, "set14": None, "b100": None}, epochs=40, learning_rate="3e-4",
               warm_start="espcn_x4", datasets=T91, lr_patch_size=32),
    # x2 and x4 were fine-tuned from x3 (5k steps each); their next cycles start from their own files (x2:
    # 8k steps at 2e-4 on 33x33, then 3k on 66x66; x4: 6k at 2e-4 on 32x32, then 3k on 64x64), then one cycle
    # in bfloat16 like x3's fifth (40k steps at 3e-4; x2: 20m 59s, Set5 36.14 -> 36.53 dB, best at step 35k;
    # x4: 20m 33s, 30.08 -> 30.31, best at step 38k)
    srcnn_zoo(2, {"set5": 36.66, "set14": 32.45, "b100": 31.36}, epochs=40, learning_rate="3e-4",
               warm_start="srcnn-9-5-5_x2", patch_size=66),
    # a fifth cosine cycle from the shipped file, the first in bfloat16 (precision auto: 32 ms a step, 21m 29s):
    # 40k steps at 3e-4 on 66x66 patches took Set5 from 32.26 to 32.60 dB, still rising over its last quarter
    # (32.56 -> 32.60); the four float32 cycles before it had 31k steps in all (12k from He init at 3e-4, 8k at
    # 2e-4 and 8k at 1.5e-4 on 33x33, then 3k at 1.5e-4 on 66x66)
    srcnn_zoo(3, {"set5": 32.75, "set14": 29.28, "b100": 28.41}, epochs=40, learning_rate="3e-4",
               warm_start="srcnn-9-5-5_x3", patch_size=66),
    srcnn_zoo(4, {"set5": 30.49, "set14": 27.50, "b100": 26.90}, epochs=40, learning_rate="3e-4",
               warm_start="srcnn-9-5-5_x4", patch_size=64),
    # x3 first, then x2 and x4 fine-tuned from it (15k steps on the 291 images), then each scale's own cycle on
    # T91 alone (see DATA). x3's third (45k steps, the first on 16x16 LR patches, see _FSRCNN_PATCHES) and
    # fourth (40k) cycles were on the 291 images, its fifth (4k at 2e-4) and sixth (15k at 3e-4) on T91
    # fsrcnn_x2: two cycles on T91 (4k steps at 2e-4, then 15k at 3e-4), then one on 48x48 LR patches in batches
    # of 4 (see _FSRCNN_PATCHES): 60k steps at 3e-4 on the AMD EPYC (float32, 23 ms a step alone, 22m 53s), Set5
    # 36.48 -> 36.57 dB (36.56-36.57 over its last quarter), Set14 32.29 -> 32.33, B100 31.20 -> 31.24
    fsrcnn_zoo("fsrcnn", 2, {"set5": 37.00, "set14": 32.63, "b100": 31.53}, epochs=60, learning_rate="3e-4",
                warm_start="fsrcnn_x2", datasets=T91, lr_patch_size=48, batch_size=4),
    # fsrcnn_x3's seventh cycle, the first on 32x32 LR patches in batches of 8 (see _FSRCNN_PATCHES): 60k steps at
    # 3e-4 on the AMD EPYC (float32, 27 ms a step alone, 25m 37s), Set5 32.52 -> 32.60 dB (best at 57k; 32.59-32.60
    # over its last quarter), Set14 29.11 -> 29.16, B100 28.26 -> 28.28 (its sixth: 15k at 3e-4 on 16x16 patches)
    fsrcnn_zoo("fsrcnn", 3, {"set5": 33.06, "set14": 29.37, "b100": None}, epochs=60, learning_rate="3e-4",
                warm_start="fsrcnn_x3", datasets=T91, lr_patch_size=32, batch_size=8),
    # fsrcnn_x4's first cycle on 32x32 LR patches in batches of 8 (see _FSRCNN_PATCHES): 60k steps at 3e-4 on the
    # AMD EPYC (float32, 28 ms a step alone, 29m 33s), Set5 30.23 -> 30.35 dB (best at its last step; 30.33-30.35
    # over its last quarter), Set14 27.27 -> 27.35, B100 26.77 -> 26.81 (the cycle before: 4k at 2e-4 on 16x16)
    fsrcnn_zoo("fsrcnn", 4, {"set5": 30.72, "set14": 27.61, "b100": 26.98}, epochs=60, learning_rate="3e-4",
                warm_start="fsrcnn_x4", datasets=T91, lr_patch_size=32, batch_size=8),
    # fsrcnn-s_x2: two cycles on T91 (4k steps at 2e-4, then 15k at 3e-4), then one on 48x48 LR patches in
    # batches of 4 (see _FSRCNN_PATCHES): 60k steps at 3e-4 on the AMD EPYC (float32, 17 ms a step alone, 16m 24s),
    # Set5 36.17 -> 36.26 dB (best at 56k; 36.25-36.26 over its last quarter), Set14 32.07 -> 32.13, B100 31.02 -> 31.07
    fsrcnn_zoo("fsrcnn-s", 2, {"set5": 36.58, "set14": 32.28, "b100": None}, epochs=60, learning_rate="3e-4",
                warm_start="fsrcnn-s_x2", datasets=T91, lr_patch_size=48, batch_size=4),
    # a seventh cycle from the shipped file, the first on 32x32 LR patches in batches of 8 (see _FSRCNN_PATCHES): 60k
    # steps at 3e-4 on the AMD EPYC (float32, 13 ms a step alone, 12m 26s), Set5 32.23 -> 32.29 dB (32.28-32.29 over
    # its last quarter), Set14 28.91 -> 28.94, B100 28.14 -> 28.16 (the sixth: 15k at 3e-4 on 16x16 patches of T91;
    # the fifth: 4k steps at 2e-4 on T91; the fourth: 60k at 5e-4 on the 291 images; the third: 45k at 1e-3 on 16x16)
    fsrcnn_zoo("fsrcnn-s", 3, {"set5": 32.61, "set14": 29.13, "b100": None}, epochs=60, learning_rate="3e-4",
                warm_start="fsrcnn-s_x3", datasets=T91, lr_patch_size=32, batch_size=8),
    # Not shipped: 30k more steps at 3e-4 from the shipped fsrcnn-s_x4 (float32, 10 ms a step alone, 5 min) took
    # Set5 only from 29.93 to 29.95 dB; fsrcnn_x4 from 30.23 to 30.24 in 10k of 40k planned (16 ms), stopped there.
    # fsrcnn-s_x4's seventh cycle, the first on 32x32 LR patches in batches of 8 (see _FSRCNN_PATCHES; its sixth: 4k
    # steps at 2e-4 on 16x16): 60k steps at 3e-4 on the AMD EPYC (float32, 15 ms a step alone, 15 min), Set5 29.93
    # -> 30.00 dB (best at 54k; 29.99-30.00 over its last quarter), Set14 27.05 -> 27.09, B100 26.64 -> 26.66
    # Not shipped: 25k more steps from it at 2e-4 on 32x32 patches in batches of 16 (22 ms a step alone, 10m 32s):
    # Set5 30.00-30.005 over the last quarter, best 30.005, 0.015 short of the 30.02
    fsrcnn_zoo("fsrcnn-s", 4, {"set5": 30.11, "set14": 27.19, "b100": None}, epochs=60, learning_rate="3e-4",
                warm_start="fsrcnn-s_x4", datasets=T91, lr_patch_size=32, batch_size=8),
    # a second bfloat16 stage from the shipped file at 1e-4 (the first: 10k steps at 2e-4, Set5 37.09 -> 37.26;
    # before it, seven float32 CPU-stage cycles on 64x64 patches in batches of 16: 2k steps at 5e-4 from
    # scratch, then 1.2k, 2.4k, 3.2k, 2.4k, 2.4k and 2.4k at 3e-4)
    lapsrn_zoo(2, {"set5": 37.52, "set14": 32.99, "b100": 31.80}, bfloat16_stage=True, epochs=10,
                learning_rate="1e-4", warm_start="lapsrn_x2"),
    # the first bfloat16 stage from the shipped file (before it, six float32 CPU-stage cycles on 128x128 patches in
    # batches of 4: 3k steps from lapsrn_x2 at 2e-4, then 1.5k, 2.25k, 2.25k, 2.25k and 2.25k at 2e-4). Restarts
    # from its file (31.228 dB) dipped and ended below or level with it: batch 16, 5k steps at 1e-4 (31.232) and 4k
    # at 3e-5 (31.214); the paper's batch of 64, 2.5k steps at 1e-4 with a 300-step warm-up (1.1 s a step, 47 min;
    # Set5 per 500 steps 31.203 31.143 31.180 31.211 31.224); batch 16, 3k steps at 5e-5 with the 300-step warm-up
    # on the AMD EPYC (AVX512-BF16, no AMX: 0.81 s a step, 42 min): Set5 per 1k steps 31.157 31.202 31.211
    lapsrn_zoo(4, {"set5": 31.54, "set14": 28.19, "b100": 27.32}, bfloat16_stage=True, epochs=10,
                warm_start="lapsrn_x4"),
    # transferred again from the shipped lapsrn_x4 after its sixth cycle (earlier x8 files grew from x4's first
    # and fifth files); cycles from the x8 file itself (1.5k steps at 2e-4, 2k at 1e-4) dipped and ended below it
    lapsrn_zoo(8, {"set5": 26.14, "set14": 24.44, "b100": 24.54}, cpu_stage=True, steps_per_epoch=625),
    # the first bfloat16 stage from the shipped file: the paper's batch and patch (before it, seven float32
    # CPU-stage cycles at batch 4: 2k steps at 5e-4, 2.1k at 3e-4, then 1.5k each at 2e-4; see the lineage).
    # Not shipped: a second bfloat16 stage from the shipped file, 16k steps at 1e-4 (206 ms a step alone, 56 min):
    # Set5 per 1k steps 37.43 37.47 37.43 37.36 37.47 37.42 37.48 37.44 37.48 37.47 37.50 37.50 37.50 37.49 37.49
    # 37.49, best 37.50 at 13k, flat over its last quarter: on the 291 images the network sits near 37.5 dB
    edsr_zoo(2, {"set5": 37.99, "set14": 33.57, "b100": 32.16}, bfloat16_stage=True, epochs=12,
              warm_start="edsr-baseline_x2"),
    # the first bfloat16 stage from the shipped file (before it, eight float32 CPU-stage cycles at batch 4: 2.5k
    # steps from edsr-baseline_x2 at 2e-4, then 1.5k each from the shipped file at 2e-4; see the lineage)
    edsr_zoo(3, {"set5": 34.37, "set14": 30.28, "b100": 29.09}, bfloat16_stage=True, epochs=10,
              warm_start="edsr-baseline_x3"),
    # the first bfloat16 stage from the shipped file (before it, eight float32 CPU-stage cycles at batch 4: 2k
    # steps from edsr-baseline_x2 at 2e-4, then 1.5k each from the shipped file at 2e-4; see the lineage)
    edsr_zoo(4, {"set5": 32.09, "set14": 28.58, "b100": 27.57}, bfloat16_stage=True, epochs=8,
              warm_start="edsr-baseline_x4"),
    ZooModel(
        name="edsr-tiny_x2", model="edsr", scale=2, channels=3, preset="tiny",
        paper={"set5": 34.26, "set14": None, "b100": None},
        paper_source="the tiny-EDSR phone study (4 filters, 963 parameters, +0.6 dB over bicubic on CINIC-10); "
                     "target: bicubic + 0.6 dB on Set5",
        flags=("--model_options=filters=4", f"--datasets={T91_BSD200}", "--batch_size=32", "--optimizer=adam",
               "--learning_rate=2e-3", "--lr_schedule=cosine", "--min_learning_rate=1e-5", "--epochs=30",
               "--steps_per_epoch=1000"),
        changes="the 291 images instead of CINIC-10 (32x32 images are smaller than the 96x96 HR patches); "
                "Adam 2e-3 with a cosine decay and batch 32 instead of the baseline's 1e-4 and 16 (963 parameters "
                "train faster with a larger step)",
    ),
]}


def zoo(name):
    """The :class:`ZooModel` called ``name``; a ``ValueError`` lists the zoo."""
    if name not in ZOO:
        raise ValueError(f"no zoo model {name!r}; the zoo: {', '.join(ZOO)}")
    return ZOO[name]


#: The FSRCNN and FSRCNN-s models, whose int8 recipes share their settings.
_FSRCNN_INT8 = tuple(f"{p}_x{s}" for p in ("fsrcnn", "fsrcnn-s") for s in (2, 3, 4))

#: The light models that get quantization-aware int8 weights (``<name>.int8.keras``), with the fine-tune's epochs
#: of 1,000 steps and Adam learning rate (cosine decay to 1e-6). ESPCN x3 (its int8 file, Set5 drop against the
#: float model): 3k steps at 1e-4 with learnt ranges everywhere 1.07 dB; 6k at 3e-4 0.78; tanh inputs fixed to
#: +-1 0.31 (and 0.12 more lost to the converter's calibration of the colour steps, now left in float); 15k
#: 0.14 (+-0.75: 0.19, +-1.5: 0.24); 40k 0.081, the first to ship (publish_int8 takes 0.1 dB at most).
#: Where the rest fall short (simulated on Set5, runs/*.int8 of 40k steps): the 8-bit activations, not the
#: weights. fsrcnn-s_x3's quantization-aware copy scores 31.87 dB (float model 32.23); with its activations
#: left in float, the same int8 weights score 32.20, and each of its 8 activation quantizers alone costs
#: 0.02-0.10 dB (the widest range, the first convolution's [-4.3, 2.1], the most): no single layer to keep
#: in float. espcn_x2 likewise: 36.11 quantized, 36.27 with float activations (float model 36.32).
#: TFLite's 16x8 mode (int8 weights, int16 activations; PTQ, Y in and out) is no way out: its drops are
#: 0.17 / 0.09 / 0.15 dB (espcn_x2, fsrcnn-s_x3, fsrcnn_x2) but it runs 5-50x slower than int8 (no XNNPACK
#: kernels; 2108 against 40 ms for espcn_x2 at 640x360 on one thread), and PRELU has no 16x8 kernel.
#: FSRCNN-s x3's PReLU-joined channels reach a median 37-61 % of their tensor's largest magnitude (the
#: narrowest 16-40 %), so per-tensor int8 leaves most of them a fraction of the 256 levels: channel equalization
#: first (--equalize_channels) scales them to one range in the same float model. Its int8 files in LiteRT
#: (publish_int8), Set5 drop without -> with it: fsrcnn-s_x3 8k steps 0.577 -> 0.350 dB (40k: 0.284); fsrcnn_x3
#: 8k 0.398 -> 0.308; fsrcnn-s_x4 40k 0.164 (PTQ 0.52).
#: Each of fsrcnn-s_x3's quantizers then costs 0.01-0.04 dB (simulated), still 8 of them (FSRCNN: 14). Tighter
#: learnt ranges help a little more, not enough: shrinking each of fsrcnn-s_x4's (after its 40k steps) by the
#: factor of 0.6-1.0 best on 30 T91 images took its file from 0.164 to 0.138 dB (no training; the 99.99th
#: percentiles instead of min/max: the same +0.03 simulated), fsrcnn-s_x3's old 8k copy +0.07 simulated.
#: The error int8 adds is about the same at every scale of a network, so its cost in dB grows with the model's
#: PSNR: in [0, 1] units the mean squared error rises by 1.1e-5 for ESPCN (x2 simulated, x3), 0.7e-5 for
#: edsr-tiny_x2 and 4e-5 for FSRCNN(-s) (x3, x4), where 0.1 dB allows 2.2e-5 at x4, 1.3e-5 at x3 and 5.4e-6 at
#: x2 (one more rounding of the 8-bit output alone adds 1.3e-6). The x2 files need half ESPCN's error and a
#: seventh of FSRCNN's. Tightening and freezing the learnt ranges halfway (--freeze_ranges=0.5; at step 20k
#: fsrcnn-s_x4's chose 0.8-0.9 on four of its eight, output PSNR on 16 training batches +0.007 dB) took
#: fsrcnn-s_x4's file from 0.164 to 0.149 dB (40k equalized steps, 19 ms a step alone, 13 min; Set5 simulated
#: over the last quarter 29.59-29.78, where the unfrozen run's was 29.70-29.76).
#: What closed the gap: int8 TFLite runs PRELU as its own op, so each FSRCNN layer had two 8-bit roundings, the
#: convolution's pre-activation (both signs on one grid) and the PReLU's output; on fsrcnn-s_x3's calibrated
#: float weights they made 84 % of the error (benchmarks/int8_error_sources.py). Written as fused ReLU halves
#: (--split_prelu, sr_zoo.models.split_prelu: the same float function, one rounding per layer on [0, max], twice
#: the work around each PReLU) the same calibration simulated 53e-6 instead of 128e-6 (LiteRT: 0.39 against 0.90
#: dB), and 400 steps of the recipe took fsrcnn-s_x4's file to 0.013 dB; the FSRCNN recipes now run 10k steps.
#: ESPCN's tanh is its own int8 op too (two roundings per layer); tanh clipped to [-1, 1] (espcn activation
#: hard_tanh) fuses into the convolution: on espcn_x2's calibrated weights the simulated error fell from 42.9e-6 to
#: 28.7e-6, still over x2's 5.4e-6, and the changed function costs more than that at first: a 20k-step
#: fine-tune with it (--model_options=activation=hard_tanh, 100 ms a step on the AMD EPYC) stood at 35.57-35.73
#: dB simulated over its first 4k steps, 0.7 dB under the float model; stopped there (a float fine-tune with it,
#: the zoo recipe at 60 ms a step: 36.05-36.14 over 7k steps, hard_tanh itself costs 0.25 dB at x2). tanh as two
#: clipped pieces (--split_tanh, sr_zoo.models.activation_split) keeps the float quality: 34.86 dB as split,
#: 36.32-36.38 over a 6k-step float fine-tune (140 ms a step). Calibrated, its activations' error fell from 50 to
#: 16e-6 (each alone, summed) but its weights' rose from 8 to 19e-6 (the pieces' factors 0.18 and 0.82 share each
#: output channel's int8 scale); quantization-aware from the split float file (250 ms a step) it stood at
#: 35.53-35.75 over 3k steps, and straight from the tanh file at 34.90-35.96 over 6k; both stopped. No single
#: layer to keep in float: the best files of the split and the hard_tanh fine-tunes score 35.73 / 35.71 dB
#: simulated (Set5 Y of the Keras copy), 35.68 / 35.76 with the last layer's weights in float, and 35.91 / 35.94
#: with no rounding at all: the fine-tuned network itself had not yet recovered. From the split float file at
#: 1e-4 (cosine over 6k steps) with its ranges tightened and frozen at step 600 (--freeze_ranges=0.1): 35.85 35.99
#: 36.01 over 3k steps, then resumed to 10k (the cosine stretched over them): 36.03 35.86 35.98 36.14 36.05 36.04
#: 36.08. Its best file in LiteRT (measure_int8): 36.14 dB, a 0.25 dB drop. ESPCN's first layer works in
#: tanh's linear range (99.9 % of espcn_x2's feature_1 pre-activations on Set5 within +-0.3), so the recipe now
#: makes it a single clip (first_activation=hard_tanh) and splits only the second tanh: half the split's work
#: between them (89 against 137 ms a float step), with the clipped convolutions' channels equalized within
#: their clip (--equalize_channels). Float stage (6k steps): 36.29 36.28 36.33 36.33 36.35 36.35. Its file
#: calibrated (benchmarks/int8_error_sources.py --weights=runs/espcn_x2.int8.float/best.keras): 31.5e-6, 0.558
#: dB, reconstruction weights 15.2 and feature_1's activation 9.6 of it; with --equalize_channels 14.0e-6,
#: 0.257 dB (reconstruction weights 4.1, feature_2 weights 3.4: equalizing a channel by s multiplies its share
#: of the next layer's weight rounding by s^2). Quantization-aware from it at 1e-4, ranges frozen at step 1000:
#: 36.06 36.02 36.14 36.09 36.07 36.04 36.10 36.20 36.18 36.14 (this recipe, 10k steps). Its 3k-step file in
#: LiteRT: 36.142 dB, the full split's 0.25 dB drop in 3k steps instead of 7k (Set14 0.114, B100 0.093), the
#: reconstruction layer's weights 58 % of its simulated error (int8_error_sources.py --weights); its 8k-step
#: file (the run's best, lr 1.5e-5 by then): 36.203 dB, a 0.189 dB drop (Set14 0.073, B100 0.061). Partly luck:
#: 4k more steps from that file at 2e-5 (cosine, ranges kept) scored 36.12 36.12 36.15 36.11, so at these rates
#: the simulated Set5 moves +-0.05 dB between neighbouring weights, and a best-of-10 on Set5 reads high.
#: Set5 of the Keras copies (a scratch check): the float stage 36.33, calibrated and equalized without
#: training 36.05, the fine-tuned copy 36.12 with its roundings and 36.21 with none, so the fine-tune costs the
#: network itself 0.12 dB and its roundings 0.09 more. espcn_x2 keeps no int8 file.
#: espcn_x3 takes 60k steps: from the 32.47 dB float file (32x32 patches), 40k steps ended at 32.363 simulated
#: (still rising) and its LiteRT file lost 0.104 dB; 60k steps (37 ms a step alone on the AMD EPYC, 36m 1s)
#: reached 32.391, a 0.077 dB drop (Set14 0.042, B100 0.033), where the 32.41 dB file's 40k had kept 0.081.
INT8 = {
    "espcn_x2": (10, "1e-4"),
    "espcn_x3": (60, "3e-4"),
    "espcn_x4": (40, "3e-4"),
    **{name: (10, "3e-4") for name in _FSRCNN_INT8},
    "edsr-tiny_x2": (3, "2e-4"),
}
#: The int8 fine-tunes whose tanh is written as clipped pieces fused into the convolutions (--split_tanh), with
#: the epochs (of 1,000 steps) of a float stage before them and their model options: the pieces are close to
#: tanh, not tanh, so the split network first trains in float (the zoo recipe's flags and schedule, from the
#: shipped file), then quantization-aware from that run's best.keras. ESPCN's first layer works in tanh's linear
#: range, so it becomes a single clip (first_activation=hard_tanh) rather than pieces.
_INT8_SPLIT_TANH = {"espcn_x2": (6, "first_activation=hard_tanh")}
#: The int8 fine-tunes that equalize channels first: PReLU between convolutions, and the clipped convolutions of
#: a tanh split (ESPCN's tanh itself is not homogeneous, and edsr-tiny_x2's shipped int8 weights predate it).
_INT8_EQUALIZED = _FSRCNN_INT8 + tuple(_INT8_SPLIT_TANH)
#: Their learnt ranges are tightened and frozen after this fraction of the steps (--freeze_ranges); the tanh
#: splits' earlier, at a lower learning rate (their float stage has already adapted the network to the pieces).
_INT8_FREEZE_RANGES = 0.5
_INT8_SPLIT_TANH_FREEZE = 0.1
#: The PReLUs written as ReLU halves fused into the convolutions (--split_prelu).
_INT8_SPLIT = _FSRCNN_INT8
#: The int8 fine-tunes that keep the paper's 17x17 LR sub-images in batches of 64, the data their int8 files were
#: first tuned on, where the float recipe has moved to larger patches: at x3, quantization-aware steps on 48x48
#: patches in batches of 32 simulated a 0.165 dB drop where 17x17 in batches of 64 kept 0.116 (light_models).
_INT8_PAPER_PATCHES = ("espcn_x3", "espcn_x4")

# What the quantization-aware fine-tune sets itself; the zoo recipe's other flags (data, patches, batch) stay
# (patches and batch: except in _INT8_PAPER_PATCHES).
_INT8_OWN_FLAGS = ("learning_rate", "min_learning_rate", "lr_schedule", "epochs", "steps_per_epoch", "warmup_steps",
                   "precision")


def int8_command(name, output_dir=None):
    """The ``train.py`` command of ``name``'s int8 weights: the zoo recipe's data, patches and batch (those of
    :data:`_INT8_PAPER_PATCHES`: the paper's 17x17 LR sub-images in batches of 64),
    fine-tuned from the shipped float file with TFLite's int8 arithmetic simulated (``--quantization_aware``,
    float32: the fake quantization is float32 arithmetic); FSRCNN's channels are equalized first
    (``--equalize_channels``), its PReLUs written as fused ReLU halves (``--split_prelu``) and its learnt ranges
    tightened and frozen halfway (``--freeze_ranges``). Where tanh is written as clipped pieces
    (``--split_tanh``, ESPCN x2), two commands joined by ``&&``: the split network in float first, in
    ``<output_dir>.float``, then the quantization-aware fine-tune from its ``best.keras``."""
    if name not in INT8:
        raise ValueError(f"no int8 recipe for {name!r}; int8 weights are trained for: {', '.join(INT8)}")
    zoo_model, (epochs, learning_rate) = zoo(name), INT8[name]
    float_epochs, model_options = _INT8_SPLIT_TANH.get(name, (None, None))
    shared = ["--split_tanh", f"--model_options={model_options}"] if float_epochs else []
    paper_patches = name in _INT8_PAPER_PATCHES
    own = _INT8_OWN_FLAGS + (("lr_patch_size", "batch_size") if paper_patches else ())
    flags = [f for f in zoo_model.flags if f.split("=", 1)[0].lstrip("-") not in own]
    flags += ["--batch_size=64"] if paper_patches else []
    flags += ["--quantization_aware"]
    if name in _INT8_EQUALIZED:
        freeze = _INT8_SPLIT_TANH_FREEZE if float_epochs else _INT8_FREEZE_RANGES
        flags += ["--equalize_channels", f"--freeze_ranges={freeze}"]
    flags += (["--split_prelu"] if name in _INT8_SPLIT else []) + shared
    flags += ["--precision=float32", f"--learning_rate={learning_rate}",
              "--lr_schedule=cosine", "--min_learning_rate=1e-6", f"--epochs={epochs}", "--steps_per_epoch=1000"]
    parts = ["python train.py", f"--model={zoo_model.model}", f"--scale={zoo_model.scale}"]
    parts += [f"--preset={zoo_model.preset}"] if zoo_model.preset else []
    output_dir = output_dir or f"runs/{name}.int8"
    if not float_epochs:
        return " ".join(parts + flags + [f"--output_dir={output_dir}", f"--warm_start={name}"])
    float_dir = f"{output_dir}.float"
    float_flags = [f for f in zoo_model.flags if not f.startswith("--epochs=")]
    float_stage = parts + float_flags + shared + [f"--epochs={float_epochs}", f"--output_dir={float_dir}",
                                                  f"--warm_start={name}"]
    int8_stage = parts + flags + [f"--output_dir={output_dir}", f"--warm_start={float_dir}/best.keras"]
    return " ".join(float_stage) + " && " + " ".join(int8_stage)
