"""Training recipes: each paper's, written down with its source, and the zoo's, one per shipped model.

* :mod:`~sr_zoo.recipes.papers`: :func:`get` gives a paper's :class:`Recipe`
  (``train.py --model=NAME --scale=S`` starts from it; every field is a flag).
* :mod:`~sr_zoo.recipes.zoo_records`: :data:`ZOO`, how each pretrained model
  is trained (:class:`ZooModel`: the ``train.py`` flags that change the
  paper's recipe, and why), and :data:`INT8`, its int8 fine-tune; the
  builders in :mod:`~sr_zoo.recipes.light_models` and
  :mod:`~sr_zoo.recipes.deep_models` write the flags and the wording.

>>> sr_zoo.recipes.get("espcn", scale=3).lr_patch_size
17
>>> sr_zoo.recipes.zoo("espcn_x3").warm_start
'espcn_x3'
"""

from sr_zoo.recipes.papers import Recipe, get, names
from sr_zoo.recipes.zoo_model import ZooModel
from sr_zoo.recipes.zoo_records import INT8, ZOO, int8_command, zoo

__all__ = ["Recipe", "get", "names", "ZooModel", "ZOO", "zoo", "INT8", "int8_command"]
