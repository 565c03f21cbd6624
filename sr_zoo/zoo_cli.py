"""``python -m sr_zoo.pretrained``: the zoo as a table, publishing, the figure, the README's tables.

The usage is :mod:`sr_zoo.pretrained`'s docstring (what ``--help`` prints).
"""

import sys

from sr_zoo import pretrained
from sr_zoo.zoo_tools.figure import figure
from sr_zoo.zoo_tools.int8 import publish_int8
from sr_zoo.zoo_tools.publish import publish
from sr_zoo.zoo_tools.readme import update_readme
from sr_zoo.zoo_tools.tables import compute_table, status, table


def main(argv=None):
    from sr_zoo import cli

    argv = list(sys.argv[1:] if argv is None else argv)
    if any(a in cli.HELP_FLAGS for a in argv):
        print(pretrained.__doc__.strip())
        return 0
    with cli.one_line_errors("python -m sr_zoo.pretrained"):
        if not argv or argv == ["--markdown"]:
            print(table(markdown=bool(argv)))
        elif argv == ["--compute"]:
            print(compute_table())
        elif argv[0] == "publish" and len(argv) in (3, 4) and argv[3:] in ([], ["--allow_worse"]):
            entry = publish(argv[1], argv[2], allow_worse=len(argv) == 4)
            print(f"published {argv[1]}: Set5 {entry['measured']['set5']['psnr']:.2f} dB ({status(entry)})")
        elif argv[0] == "publish_int8" and len(argv) in (3, 4) and argv[3:] in ([], ["--allow_worse"]):
            entry = publish_int8(argv[1], argv[2], allow_worse=len(argv) == 4)
            set5 = entry["measured"]["set5"]
            print(f"published {argv[1]} int8 weights: Set5 int8 TFLite {set5['int8']:.2f} dB, float "
                  f"{set5['float']:.2f} dB (drop {set5['drop']:.3f})")
        elif argv[0] == "--update_readme" and len(argv) <= 2:
            from sr_zoo import paths

            print(f"updated {update_readme(argv[1] if len(argv) == 2 else paths.PROJECT_ROOT / 'README.md')}")
        elif argv[0] == "figure" and len(argv) == 2:
            out, _ = figure(argv[1])
            print(f"wrote {out}")
        else:
            raise cli.FlagError(f"unexpected arguments: {' '.join(argv)}")
    return 0
