#!/usr/bin/env python3
"""Unit tests of the step-branch generator's gate stripping (no git, no
cargo): a gated item is removed whole, statement terminator included.

    python3 -m unittest discover -s scripts -p 'test_*.py'
"""

import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import step_branch  # noqa: E402


def strip(src, on=frozenset()):
    """`src` as the generator leaves it with the features `on`."""
    with tempfile.TemporaryDirectory() as d:
        step_branch.TOP_WORK = Path(d)
        f = Path(d) / "m.rs"
        f.write_text(src)
        step_branch.strip_file(f, set(on), [])
        return f.read_text()


class GatedStatements(unittest.TestCase):
    def test_a_braced_use_on_one_line_goes_whole(self):
        src = 'pub mod a;\n\n#[cfg(feature = "x")]\npub use m::{A, B};\n\nfn f() {}\n'
        self.assertEqual(strip(src), "pub mod a;\n\nfn f() {}\n")

    def test_a_braced_use_over_several_lines_goes_whole(self):
        src = ('#[cfg(feature = "x")]\npub use m::{\n    A, B,\n    C,\n};\n'
               'fn f() {}\n')
        self.assertEqual(strip(src), "fn f() {}\n")

    def test_a_const_with_a_struct_literal_goes_whole(self):
        src = ('#[cfg(feature = "x")]\nconst P: Point = Point { x: 1, y: 2 };\n'
               'fn f() {}\n')
        self.assertEqual(strip(src), "fn f() {}\n")

    def test_a_kept_gate_only_loses_its_attribute(self):
        src = '#[cfg(feature = "x")]\npub use m::{\n    A,\n};\nfn f() {}\n'
        self.assertEqual(strip(src, {"x"}), "pub use m::{\n    A,\n};\nfn f() {}\n")

    def test_block_items_still_end_at_their_brace(self):
        src = ('#[cfg(feature = "x")]\nfn g() {\n    let a = [0u8; 2];\n}\n'
               '#[cfg(feature = "x")]\nstruct S {\n    a: u8,\n}\nfn f() {}\n')
        self.assertEqual(strip(src), "fn f() {}\n")

    def test_an_if_with_an_else_goes_whole(self):
        src = ('fn f() {\n    #[cfg(feature = "x")]\n    if a {\n        b();\n    } else {\n'
               '        c();\n    }\n    d();\n}\n')
        self.assertEqual(strip(src), "fn f() {\n    d();\n}\n")


if __name__ == "__main__":
    unittest.main()
