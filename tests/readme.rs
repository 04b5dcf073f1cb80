//! The README repeats facts the code owns; these tests keep the two in step.

use clanforge_wait::testing::EXIT_CODES;

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README.md")
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    let from = text.find(start).unwrap_or_else(|| panic!("no {start}")) + start.len();
    let to = text[from..].find(end).unwrap_or_else(|| panic!("no {end}")) + from;
    text[from..to].trim()
}

#[test]
fn the_readme_exit_code_table_is_the_one_in_the_code() {
    let mut table = String::from("| code | `result` | meaning |\n|---|---|---|\n");
    for (code, result, meaning) in EXIT_CODES {
        table.push_str(&format!("| {code} | `{result}` | {meaning} |\n"));
    }
    let readme = readme();
    assert_eq!(
        between(
            &readme,
            "<!-- exit-codes:start -->",
            "<!-- exit-codes:end -->"
        ),
        table.trim(),
        "update README.md's exit-code table from src/outcome.rs"
    );
}

#[test]
fn the_readme_gives_the_test_command_that_ci_runs() {
    let ci =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/.ci/run")).expect(".ci/run");
    assert!(ci.contains("\ncargo test --locked\n"));
    assert!(readme().contains("cargo test --locked               # the test suite"));
}

/// Rewrite with UPDATE_GOLDEN=1 after a deliberate change, and review the diff.
fn assert_golden_help(args: &[&str], file: &str) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_clanforge-wait"))
        .args(args)
        .arg("--help")
        .env_clear()
        .env("COLUMNS", "100")
        .output()
        .expect("the binary runs");
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).expect("UTF-8 help");
    let golden = format!("{}/tests/golden/{file}", env!("CARGO_MANIFEST_DIR"));
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&golden, &help).expect("golden file written");
    }
    let expected = std::fs::read_to_string(&golden).unwrap_or_default();
    assert_eq!(
        help, expected,
        "{args:?} --help changed: review it, then UPDATE_GOLDEN=1 cargo test"
    );
}

#[test]
fn help_matches_its_golden_file() {
    assert_golden_help(&[], "help.txt");
}

#[test]
fn the_subcommands_help_matches_its_golden_files() {
    assert_golden_help(&["deploy"], "help-deploy.txt");
    assert_golden_help(&["start", "update"], "help-start-update.txt");
    assert_golden_help(&["start", "diff"], "help-start-diff.txt");
    assert_golden_help(&["start", "version"], "help-start-version.txt");
}

/// The man pages, from the same clap definitions as `--help`: `man/clanforge-wait.1` and one
/// per subcommand. Rewrite with UPDATE_GOLDEN=1 after a change to the flags.
#[test]
fn the_man_pages_are_current() {
    let fresh = tempfile::tempdir().expect("a temp folder");
    let command = clanforge_wait::testing::command().term_width(100);
    clap_mangen::generate_to(command, fresh.path()).expect("the pages render");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("man");
    let names = |dir: &std::path::Path| {
        let mut names: Vec<_> = std::fs::read_dir(dir)
            .map(|d| d.filter_map(|e| Some(e.ok()?.file_name())).collect())
            .unwrap_or_default();
        names.sort();
        names
    };
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("man/");
        for name in names(fresh.path()) {
            std::fs::copy(fresh.path().join(&name), dir.join(&name)).expect("page copied");
        }
    }
    assert_eq!(
        names(&dir),
        names(fresh.path()),
        "man/ has other pages than the CLI"
    );
    for name in names(fresh.path()) {
        let page = std::fs::read(fresh.path().join(&name)).expect("page");
        assert!(
            page == std::fs::read(dir.join(&name)).unwrap_or_default(),
            "man/{} is out of date: UPDATE_GOLDEN=1 cargo test --test readme, and review the diff",
            name.to_string_lossy()
        );
    }
}
