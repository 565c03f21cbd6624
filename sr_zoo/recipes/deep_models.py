"""The zoo recipes of the deep RGB and Laplacian networks: LapSRN and EDSR (baseline and tiny)."""

from sr_zoo.recipes.zoo_model import AGAIN, T91_BSD200, ZooModel


# LapSRN and EDSR-baseline need ~1e17 FLOPs each (GPU work). Without a GPU, a "CPU stage" trains the x2
# model on smaller batches and patches, 1/16 (LapSRN) and 1/4 (EDSR) of the paper's FLOPs per step,
# for a few thousand steps: the best model 2 CPU cores can make in a session, shipped as such, and the
# warm start of a full-recipe run on a GPU later.
CPU_STAGE = ("CPU stage: {what} and a short cosine schedule, so that 2 CPU cores can train it in a session "
             "(the paper's recipe is {paper}); a GPU run of the paper's recipe warm-started from it is still to do")


# The larger factors' CPU stages start from the next smaller factor's shipped weights, as the papers
# do (EDSR's x3/x4 from its x2 network; LapSRN's new level from the level below it, see
# sr_zoo.models.transfer_weights), and fine-tune at a lower peak learning rate.
STAGE_TRANSFER = ("; warm-started from {source} of this zoo ({what}) and fine-tuned at a lower peak learning "
                  "rate")


def lapsrn_zoo(scale, paper, cpu_stage=False, steps_per_epoch=1000, epochs=None, learning_rate=None,
               warm_start=None, bfloat16_stage=False, batch_size=16):
    flags = (f"--datasets={T91_BSD200}", "--optimizer=adam", "--learning_rate=1e-4", "--lr_schedule=cosine",
             "--min_learning_rate=1e-6", "--epochs=100", "--steps_per_epoch=1000")
    changes = "Adam 1e-4 with a cosine decay instead of SGD 1e-5 halved every 50 epochs (same data, patches, loss)"
    if bfloat16_stage:
        if not epochs:
            raise ValueError("a LapSRN bfloat16 stage needs its epochs")
        # the paper's 128x128 HR patches in bfloat16 (5x the float32 step on the AMX Xeon); a quarter of its
        # batch of 64, which keeps 10k steps within an hour on 2 cores
        learning_rate = learning_rate or "2e-4"
        flags = (f"--datasets={T91_BSD200}", "--patch_size=128", f"--batch_size={batch_size}", "--optimizer=adam",
                 f"--learning_rate={learning_rate}", "--lr_schedule=cosine", "--min_learning_rate=1e-6",
                 "--warmup_steps=300", f"--epochs={epochs}", f"--steps_per_epoch={steps_per_epoch}",
                 "--rescale=none", "--precision=auto")
        changes = (f"bfloat16 stage on 2 CPU cores with AMX (precision auto, image path in float32): the paper's "
                   f"128x128 HR patches in batches of {batch_size} (paper: 64), Adam {learning_rate} with a 300-step "
                   f"linear warm-up and a cosine decay over {epochs * steps_per_epoch // 1000}k steps (paper: SGD "
                   f"1e-5 halved every 50 epochs, 100k steps), no scale augmentation; earlier float32 CPU-stage "
                   f"cycles: the lineage")
        if warm_start == f"lapsrn_x{scale}":
            changes += AGAIN
        return ZooModel(
            name=f"lapsrn_x{scale}", model="lapsrn", scale=scale, channels=1, paper=paper,
            paper_source="Lai et al. CVPR 2017, Table 4 (291 images)", flags=flags, changes=changes,
            warm_start=warm_start,
        )
    if cpu_stage:
        # x2: 64x64 HR patches in batches of 16; x4/x8: 128x128 in batches of 4 (a 64x64 patch is smaller
        # than their receptive field in LR pixels)
        patch, batch = (64, 16) if scale == 2 else (128, 4)
        epochs, learning_rate = epochs or (2 if scale == 2 else 4), learning_rate or ("5e-4" if scale == 2 else "2e-4")
        flags = (f"--datasets={T91_BSD200}", f"--patch_size={patch}", f"--batch_size={batch}", "--optimizer=adam",
                 f"--learning_rate={learning_rate}", "--lr_schedule=cosine", "--min_learning_rate=1e-5",
                 f"--epochs={epochs}", f"--steps_per_epoch={steps_per_epoch}", "--rescale=none")
        what = ("64x64 HR patches in batches of 16 (paper: 128x128, 64)" if scale == 2
                else "batches of 4 128x128 HR patches (paper: 64)")
        changes = CPU_STAGE.format(what=f"{what}, Adam {learning_rate}, no scale augmentation",
                                    paper="100k steps of 64 128x128 patches")
        if warm_start == f"lapsrn_x{scale}":
            changes += AGAIN
        elif scale > 2:  # a new level on top of the smaller factor's network
            warm_start = f"lapsrn_x{scale // 2}"
            changes += STAGE_TRANSFER.format(source=warm_start, what="its levels; the new level starts as a copy "
                                                                      "of the level below")
    return ZooModel(
        name=f"lapsrn_x{scale}", model="lapsrn", scale=scale, channels=1, paper=paper,
        paper_source="Lai et al. CVPR 2017, Table 4 (291 images)", flags=flags, changes=changes,
        warm_start=warm_start,
    )


def edsr_zoo(scale, paper, cpu_stage=False, steps_per_epoch=1000, epochs=None, learning_rate=None, warm_start=None,
             warmup_steps=None, bfloat16_stage=False):
    flags = (f"--datasets={T91_BSD200}", "--learning_rate=2e-4", "--lr_schedule=cosine",
             "--min_learning_rate=1e-6", "--epochs=300", "--steps_per_epoch=1000")
    changes = ("the 291 images instead of DIV2K (not available offline: fewer, smaller images, so expect lower "
               "numbers than the paper's); cosine decay instead of halving every 2e5 updates")
    if bfloat16_stage:
        # the paper's batch (16) and patch (48x48 LR) in bfloat16, 4x faster than float32 on the AMX Xeon
        learning_rate = learning_rate or "2e-4"
        flags = (f"--datasets={T91_BSD200}", "--batch_size=16", f"--learning_rate={learning_rate}",
                 "--lr_schedule=cosine", "--min_learning_rate=1e-6", f"--warmup_steps={warmup_steps or 300}",
                 f"--epochs={epochs}", f"--steps_per_epoch={steps_per_epoch}", "--precision=auto")
        changes += (f"; bfloat16 stage on 2 CPU cores with AMX (precision auto, image path in float32): the "
                    f"paper's batch of 16 48x48 LR patches, Adam {learning_rate} with a {warmup_steps or 300}-step "
                    f"linear warm-up and a cosine decay over {epochs * steps_per_epoch // 1000}k steps (paper: "
                    f"300k steps); earlier float32 CPU-stage cycles at batch 4: the lineage")
        if warm_start == f"edsr-baseline_x{scale}":
            changes += AGAIN
        return ZooModel(
            name=f"edsr-baseline_x{scale}", model="edsr", scale=scale, channels=3, preset="baseline", paper=paper,
            paper_source="Lim et al. CVPRW 2017, Table 3 (EDSR baseline, DIV2K-trained)", flags=flags,
            changes=changes, warm_start=warm_start,
        )
    if cpu_stage:
        learning_rate = learning_rate or ("5e-4" if scale == 2 else "2e-4")
        epochs = epochs or (2 if scale == 2 else 4)
        flags = (f"--datasets={T91_BSD200}", "--batch_size=4", f"--learning_rate={learning_rate}",
                 "--lr_schedule=cosine", "--min_learning_rate=1e-5", f"--epochs={epochs}",
                 f"--steps_per_epoch={steps_per_epoch}")
        changes += "; " + CPU_STAGE.format(what=f"batches of 4 (paper: 16), Adam {learning_rate}",
                                            paper="300k steps of 16 48x48 LR patches")
        if warmup_steps:  # eases the warm start's fresh Adam moments in
            flags += (f"--warmup_steps={warmup_steps}",)
            changes += f"; a {warmup_steps}-step linear warm-up"
        if warm_start == f"edsr-baseline_x{scale}":
            changes += AGAIN
        elif scale > 2:  # the paper's own recipe: x3 and x4 start from the pre-trained x2 network
            warm_start = "edsr-baseline_x2"
            changes += STAGE_TRANSFER.format(source=warm_start, what="all but the upsampler, as the paper does")
    return ZooModel(
        name=f"edsr-baseline_x{scale}", model="edsr", scale=scale, channels=3, preset="baseline", paper=paper,
        paper_source="Lim et al. CVPRW 2017, Table 3 (EDSR baseline, DIV2K-trained)", flags=flags, changes=changes,
        warm_start=warm_start,
    )
