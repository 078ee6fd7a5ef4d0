#!/usr/bin/env python3
"""Unit tests of the step-branch generator (no git, no cargo): gate
stripping (a gated item is removed whole, statement terminator included),
what a branch must not keep or mention, and what a check runs and shows.

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


class SpeaksOfItself(unittest.TestCase):
    """A branch's READMEs, Justfile and CI script name only recipes its
    Justfile has."""

    def tree(self, files):
        d = tempfile.TemporaryDirectory()
        self.addCleanup(d.cleanup)
        root = Path(d.name)
        for name, text in files.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(text)
        return step_branch.missing_recipes(root)

    JUSTFILE = ("root := \"x\"\n# Build\nbuild:\n    cargo build\ntest-step N:\n    cargo test\n"
                "demo: build\n    just build\n")

    def test_the_recipes_of_a_justfile(self):
        self.assertEqual(step_branch.recipes(self.JUSTFILE), {"build", "test-step", "demo"})

    def test_recipes_it_has_pass(self):
        self.assertEqual(self.tree({
            "Justfile": self.JUSTFILE,
            "README.md": "```sh\njust test-step 5\n```\nRun `just demo`; it is just before the end.\n",
            ".ci/run": "just build\n",
        }), [])

    def test_a_readme_offering_a_recipe_of_main_is_refused(self):
        found = self.tree({
            "Justfile": self.JUSTFILE,
            "README.md": "```sh\njust step-branch 21 && git checkout step-21\n```\n",
            "steps/05-run/README.md": "Then `just step-diff 6` shows it.\n",
        })
        self.assertEqual(len(found), 2)
        self.assertIn("README.md:2: `just step-branch`", found[0])
        self.assertIn("steps/05-run/README.md:1: `just step-diff`", found[1])

    def test_prose_outside_code_is_not_a_command(self):
        self.assertEqual(self.tree({"Justfile": self.JUSTFILE,
                                    "README.md": "It ran just before the end.\n"}), [])

    def test_ci_and_the_justfile_itself_are_checked(self):
        found = self.tree({"Justfile": self.JUSTFILE + "all:\n    just test-steps\n",
                           ".ci/run": "just qemu-test 7\n"})
        self.assertEqual([f.split(":")[0] for f in found], ["Justfile", ".ci/run"])

    def test_main_names_only_recipes_it_has(self):
        self.assertEqual(step_branch.missing_recipes(step_branch.TOP), [])

    def test_main_only_ci_sections_go(self):
        ci = ('section "just test"\njust test\n# main-only\n# the VM\nsection "qemu"\n'
              'just qemu-test\n# /main-only\nsection "done"\n')
        self.assertEqual(step_branch.branch_justfile(ci, 9),
                         'section "just test"\njust test\nsection "done"\n')


class Check(unittest.TestCase):
    def test_all_tests_or_the_chapters_own(self):
        phases = lambda tests: [(p, c[-1]) for p, c in step_branch.check_commands(7, tests)]
        first = [("clippy", "warnings"), ("rustfmt", "--check"), ("test build", "--tests")]
        self.assertEqual(phases("all"), first + [("tests", "--tests")])
        self.assertEqual(phases("own"), first + [("tests", "--bins"), ("tests", "step07_")])

    def test_a_failed_test_run_shows_its_failures(self):
        out = ("running 2 tests\ntest a ... ok\ntest b ... FAILED\n\nfailures:\n\n"
               "---- b stdout ----\nexpected 1, got 2\n\nfailures:\n    b\n\n"
               "test result: FAILED. 1 passed; 1 failed\n\nrunning 3 tests\ntest c ... ok\n")
        err = "   Compiling x\nerror: test failed, to rerun pass `--test integration`\n"
        shown = step_branch.failure_excerpt(out, err)
        self.assertTrue(shown.startswith("failures:\n\n---- b stdout ----\nexpected 1, got 2"))
        self.assertIn("test result: FAILED. 1 passed; 1 failed", shown)
        self.assertNotIn("test a ... ok", shown)
        self.assertTrue(shown.endswith("error: test failed, to rerun pass `--test integration`"))

    def test_a_failed_build_shows_the_end_of_its_errors(self):
        err = "".join(f"   Compiling dep{i}\n" for i in range(200)) + "error[E0425]: cannot find x\n"
        shown = step_branch.failure_excerpt("", err)
        self.assertTrue(shown.endswith("error[E0425]: cannot find x"))
        self.assertLessEqual(len(shown.split("\n")), 120)


if __name__ == "__main__":
    unittest.main()
