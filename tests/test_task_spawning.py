"""Background tasks in services/ are spawned through services/common/tasks.py (TaskSet), which
keeps a reference, prunes finished tasks and logs failures nobody awaited. A bare
``asyncio.create_task``/``ensure_future`` may be gone from a file, never added to one."""

import ast
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPAWNERS = {"create_task", "ensure_future"}

# Bare spawns that predate the helper, per file: each is a task its owner keeps and cancels.
# Lower a number when you convert one; the test fails if a file has more than listed here.
GRANDFATHERED = {
    "services/common/tasks.py": 1,  # the helper itself
}


def bare_spawns(source: str) -> int:
    count = 0
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            count += name in SPAWNERS
    return count


def test_the_counter_sees_attribute_and_bare_calls():
    code = ("import asyncio\nfrom asyncio import ensure_future\n"
            "asyncio.create_task(f())\nensure_future(g())\nloop.create_task(h())\ntasks.spawn(i())\n")
    assert bare_spawns(code) == 3


def test_no_new_bare_task_spawns_in_services():
    found = Counter({str(p.relative_to(ROOT)): bare_spawns(p.read_text()) for p in (ROOT / "services").rglob("*.py")})
    over = {path: n for path, n in found.items() if n > GRANDFATHERED.get(path, 0)}
    assert not over, f"spawn through services.common.tasks.TaskSet (or rt.tasks), not bare: {over}"
