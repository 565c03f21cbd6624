"""Maintainers' tools for the pretrained zoo: publishing a run, the training record, the tables, the figure
and the README's zoo sections. Reached through ``python -m sr_zoo.pretrained`` (see :mod:`sr_zoo.pretrained`);
nothing in the library imports this package (the import-linter contracts in ``.importlinter`` check it).

>>> from sr_zoo import zoo_tools
>>> print(zoo_tools.table(markdown=False))
>>> zoo_tools.publish("espcn_x3", "runs/espcn_x3")        # measures best.keras and ships it
"""

from sr_zoo.zoo_tools.figure import FIGURE_CROPS, figure
from sr_zoo.zoo_tools.publish import publish
from sr_zoo.zoo_tools.readme import update_readme
from sr_zoo.zoo_tools.record import compute_record, spent_flops
from sr_zoo.zoo_tools.tables import compute_table, int8_table, status, table

__all__ = ["publish", "compute_record", "spent_flops", "status", "table", "compute_table", "int8_table", "figure",
           "FIGURE_CROPS", "update_readme"]
