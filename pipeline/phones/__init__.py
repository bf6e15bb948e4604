"""The normalize stage: raw phone cells to E.164 numbers, or a reason each one cannot be used.

phonenumbers' answers are the reference, but asking it one number at a time is too slow for a
large export; so the stage cleans every row with polars string work, reads each distinct value
once, and most of those all at once by running phonenumbers' own metadata as polars expressions,
leaving phonenumbers itself the few values that reading cannot decide exactly. The modules, in
the order a value meets them:

- `clean`: what the text alone tells (separators, Excel damage, exit codes, rule rejects);
- `reading`: the distinct values against the numbering plan, vectorized (`numbering` parses,
  `plan_checks` finds region, type and validity, both from `plans`, run by `grouped_apply`;
  `country_codes` finds a number's code from its first digits),
  then one by one (`reader`, in worker processes for many);
- `verdicts`: a rejected row's reason and detail; `rejects`: that vocabulary and the file;
- `normalization`: `normalize`, which runs the above (a slice of a large frame per core,
  `threads`) and checks the result (`schemas`);
- `describe`: region and type of valid numbers, for snapshots;
- `cache`: normalized results on disk, keyed by the files, the options and this code.
"""

from __future__ import annotations

from pipeline.phones.describe import describe_numbers
from pipeline.phones.normalization import NormalizeResult, count_duplicates, normalize
from pipeline.phones.reader import MOBILE_TYPES
from pipeline.phones.rejects import Reason

__all__ = [
    "MOBILE_TYPES",
    "NormalizeResult",
    "Reason",
    "count_duplicates",
    "describe_numbers",
    "normalize",
]
