"""Walking dataset wrappers, built or as config dicts."""
from typing import Any, Iterator

#: where a wrapper keeps its children: mmengine's RepeatDataset / ClassBalancedDataset
#: (``dataset``), ConcatDataset (``datasets``), our DomainPairDataset (``source``,
#: ``target``)
CHILD_KEYS = ('dataset', 'source', 'target')
CHILDREN_KEY = 'datasets'


def nested_datasets(root: Any) -> Iterator[Any]:
    """``root`` and every dataset it wraps, depth first, each once: built datasets
    (children read as attributes) or config dicts (children read as keys)."""
    def child(node: Any, key: str) -> Any:
        return node.get(key) if isinstance(node, dict) else getattr(node, key, None)

    seen = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        yield node
        stack.extend(child(node, key) for key in CHILD_KEYS)
        stack.extend(child(node, CHILDREN_KEY) or [])
