# The collection is imported as ansible_collections.hybridops.fleet from the
# .collections tree that scripts/setup.sh makes (a link to this checkout).
import os
import sys

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
COLLECTIONS = os.path.join(REPO, ".collections")
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)
