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

    def test_gates_that_are_not_chapters_stay(self):
        src = ('#[test]\n#[cfg(target_endian = "little")]\nfn t() {}\n'
               '#[cfg(test)]\nmod tests {}\n')
        self.assertEqual(strip(src), src)

    def test_block_items_still_end_at_their_brace(self):
        src = ('#[cfg(feature = "x")]\nfn g() {\n    let a = [0u8; 2];\n}\n'
               '#[cfg(feature = "x")]\nstruct S {\n    a: u8,\n}\nfn f() {}\n')
        self.assertEqual(strip(src), "fn f() {}\n")

    def test_an_if_with_an_else_goes_whole(self):
        src = ('fn f() {\n    #[cfg(feature = "x")]\n    if a {\n        b();\n    } else {\n'
               '        c();\n    }\n    d();\n}\n')
        self.assertEqual(strip(src), "fn f() {\n    d();\n}\n")


class CfgAttr(unittest.TestCase):
    def test_an_off_cfg_attr_goes(self):
        src = 'enum V {\n    #[cfg_attr(feature = "x", derive(Debug))]\n    A,\n}\n'
        self.assertEqual(strip(src), "enum V {\n    A,\n}\n")

    def test_an_on_cfg_attr_becomes_its_attribute(self):
        src = '#[cfg_attr(feature = "x", derive(Debug))]\nstruct S;\n'
        self.assertEqual(strip(src, {"x"}), "#[derive(Debug)]\nstruct S;\n")

    def test_an_allow_left_by_a_cfg_attr_is_refused(self):
        src = 'enum V {\n    #[cfg_attr(not(feature = "x"), allow(dead_code))]\n    A,\n}\n'
        with self.assertRaises(step_branch.GateError):
            strip(src)


class Markers(unittest.TestCase):
    def test_main_only_markdown_goes_and_branch_only_shows(self):
        md = ("a\n<!-- main-only -->\njust step-diff 3\n<!-- /main-only -->\n"
              "<!-- branch-only\nchapters 1 to @STEP@\n-->\nb\n")
        self.assertEqual(step_branch.branch_markdown(md, 7), "a\nchapters 1 to 07\nb\n")

    def test_justfile_blocks(self):
        j = ("build:\n    cargo build\n# main-only\nstep-diff N:\n    git diff\n# /main-only\n"
             "# branch-only\n# # The tests of chapter N\n# test-step N:\n#     cargo test step{{N}}\n"
             "# /branch-only\n")
        self.assertEqual(step_branch.branch_justfile(j, 5),
                         "build:\n    cargo build\n# The tests of chapter N\ntest-step N:\n"
                         "    cargo test step{{N}}\n")

    def test_rows_of_later_steps_go(self):
        table = "| step |\n|---|\n| [04](a) | x |\n| [05](b) | y |\n| 04 | z |\n| 05 | w |\n"
        self.assertEqual(step_branch.drop_step_rows(table, 4),
                         "| step |\n|---|\n| [04](a) | x |\n| 04 | z |\n")

    def test_an_optional_dependency_is_plain_with_its_chapter_and_gone_before(self):
        head = ('[dependencies]\ncaps = "0.5.6"\n# Only step 34 links it.\n'
                'libseccomp = { version = "0.4.0", optional = true }\nz = "1"\n')
        cargo = {"features": {"seccomp": ["capabilities", "dep:libseccomp"]}}
        self.assertEqual(step_branch.branch_dependencies(head, cargo, {"seccomp"}),
                         '[dependencies]\ncaps = "0.5.6"\n# Only step 34 links it.\n'
                         'libseccomp = "0.4.0"\nz = "1"\n')
        self.assertEqual(step_branch.branch_dependencies(head, cargo, {"capabilities"}),
                         '[dependencies]\ncaps = "0.5.6"\nz = "1"\n')

    def test_an_optional_dependency_keeps_its_other_settings(self):
        head = ('oci-spec = { version = "0.10.0", default-features = false, '
                'features = ["image"], optional = true }\n')
        cargo = {"features": {"oci_image": ["lifecycle", "dep:oci-spec"]}}
        self.assertEqual(step_branch.branch_dependencies(head, cargo, {"oci_image"}),
                         'oci-spec = { version = "0.10.0", default-features = false, '
                         'features = ["image"] }\n')
        self.assertEqual(step_branch.branch_dependencies(head, cargo, {"lifecycle"}), "")


class Leftovers(unittest.TestCase):
    def tree(self, files):
        d = tempfile.TemporaryDirectory()
        self.addCleanup(d.cleanup)
        root = Path(d.name)
        for name, text in files.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(text)
        return step_branch.leftovers(root)

    def test_a_clean_tree_has_none(self):
        self.assertEqual(self.tree({
            "src/lib.rs": "//! See src/a.rs.\npub mod a;\nfn f() { let _ = g(); }\n",
            "src/a.rs": "",
            "README.md": "[a](src/a.rs) [web](https://example.org)\n",
        }), [])

    def test_a_let_that_only_uses_a_name_is_refused(self):
        found = self.tree({"src/lib.rs": "fn f(root: u8) {\n    let _ = &root;\n    let _ = (&a.b, c);\n}\n"})
        self.assertEqual(len(found), 2)
        self.assertIn("src/lib.rs:2", found[0])

    def test_allow_unused_is_refused(self):
        found = self.tree({"src/lib.rs": "#[allow(clippy::x, unused_variables)]\nfn f() {}\n"})
        self.assertEqual(len(found), 1)

    def test_a_comment_naming_a_missing_file_is_refused(self):
        found = self.tree({"src/lib.rs": "// see src/network/ipam.rs\nconst S: &str = \"src/x.rs\";\n"})
        self.assertEqual(len(found), 1)
        self.assertIn("src/network/ipam.rs", found[0])

    def test_a_link_to_a_missing_file_is_refused(self):
        found = self.tree({"README.md": "[29](steps/29-ipam/README.md)\n", "src/lib.rs": ""})
        self.assertEqual(len(found), 1)

    def test_justfile_recipes_of_main_are_refused(self):
        found = self.tree({"src/lib.rs": "", "Justfile": "step-branch N:\n    python3 scripts/step_branch.py {{N}}\n"})
        self.assertEqual(len(found), 1)


if __name__ == "__main__":
    unittest.main()
