"""The README's comparison figure: the same HR crops through bicubic and each shipped model."""

import pathlib

from sr_zoo import pretrained

FIGURE_CROPS = (("set5", "butterfly", (96, 96)), ("set14", "zebra", (240, 330)))  # (benchmark, image, HR top-left)


def figure(out_path, names=None, crop=96, zoom=2, data_dir=None):
    """Writes a PNG comparing the same HR crops: one row per scale and image, bicubic, each model, HR.

    Returns ``(out_path, rows)``: per row, the crop's Y-PSNR (dB, crop only) of each column but HR.
    """
    import numpy as np
    from PIL import Image, ImageDraw

    from sr_zoo import inference, metrics
    from sr_zoo.data import benchmarks

    names = list(names or pretrained.available())
    scales = sorted({pretrained.available()[n]["scale"] for n in names})
    models_by_scale = {s: [(n, pretrained.load(n)) for n in names if pretrained.available()[n]["scale"] == s]
                       for s in scales}
    width = 2 + max(len(m) for m in models_by_scale.values())  # bicubic, the models, HR
    label_h, tile = 28, crop * zoom
    rows = [(s, c) for s in scales for c in FIGURE_CROPS]
    sheet = Image.new("RGB", (tile * width, (tile + label_h) * len(rows)), "white")
    draw = ImageDraw.Draw(sheet)
    scores = []
    for r, (scale, (benchmark, image, (top, left))) in enumerate(rows):
        pair = next(p for p in benchmarks.load_pairs(benchmark, scale, data_dir) if p.name == image)
        columns = [(f"bicubic x{scale}", benchmarks.bicubic(pair.lr, scale))]
        columns += [(n, inference.upscale(m, pair.lr, precision="float32")) for n, m in models_by_scale[scale]]
        columns.append((f"HR ({benchmark} {image})", pair.hr))
        y0 = r * (tile + label_h)
        hr = np.atleast_3d(pair.hr)[top: top + crop, left: left + crop]
        row_scores = []
        for col, (label, out) in enumerate(columns):
            patch = np.atleast_3d(out)[top: top + crop, left: left + crop]
            caption = label
            if col < len(columns) - 1:
                row_scores.append((label, metrics.psnr(hr, patch, crop_border=0)))
                caption += f"\n{row_scores[-1][1]:.2f} dB"
            patch = np.repeat(patch, 3, axis=-1) if patch.shape[-1] == 1 else patch
            sheet.paste(Image.fromarray(patch).resize((tile, tile), Image.NEAREST), (col * tile, y0 + label_h))
            draw.multiline_text((col * tile + 3, y0 + 1), caption, fill="black", spacing=1)
        scores.append((scale, benchmark, image, row_scores))
    pathlib.Path(out_path).parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out_path)
    return out_path, scores
