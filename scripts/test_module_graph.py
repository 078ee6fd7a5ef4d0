#!/usr/bin/env python3
"""Tests of the module-graph check, and the check itself on mydocker's
`src`: no cycle between top-level modules, no import up to `cli` from the
engine, none from `network` to `container`.

    python3 -m unittest discover -s scripts -p 'test_*.py'
"""

import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import module_graph  # noqa: E402

SRC = Path(__file__).resolve().parent.parent / "src"


def tree(files):
    """A temporary `src` holding `files` ({path: text})."""
    d = tempfile.TemporaryDirectory()
    for path, text in files.items():
        p = Path(d.name) / path
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return d


class TheCheck(unittest.TestCase):
    def test_a_cycle_through_a_submodule_is_found(self):
        with tree({
            "lib.rs": "pub mod network;\npub mod container;\n",
            "network/mode.rs": "use crate::container::state::Store;\n",
            "container/mod.rs": "pub fn f() { crate::network::mode::x(); }\n",
        }) as d:
            edges = module_graph.graph(d)
            self.assertEqual(module_graph.cycles(edges),
                             [["container", "network", "container"]])
            self.assertIn("network must not import container: ",
                          "\n".join(module_graph.breaches(edges)))

    def test_groups_are_read_and_comments_are_not(self):
        with tree({
            "fs/mod.rs": "use crate::{names, syscall::Linux};\n"
                         "// crate::cli is only named here\n"
                         "/* nor crate::cgroups */\n",
            "names.rs": "", "syscall.rs": "", "cli.rs": "", "cgroups/mod.rs": "",
        }) as d:
            self.assertEqual(sorted(module_graph.graph(d)["fs"]), ["names", "syscall"])

    def test_a_graph_that_points_one_way_passes(self):
        with tree({
            "commands/run.rs": "use crate::container::x;\nuse crate::network::y;\n",
            "container/mod.rs": "use crate::network::mode::Mode;\n",
            "network/mod.rs": "use crate::names;\n",
            "names.rs": "",
        }) as d:
            self.assertEqual(module_graph.breaches(module_graph.graph(d)), [])


class MydockersModules(unittest.TestCase):
    def test_point_one_way(self):
        edges = module_graph.graph(SRC)
        self.assertEqual(module_graph.breaches(edges), [])


if __name__ == "__main__":
    unittest.main()
