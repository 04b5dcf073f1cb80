//! `start` and `deploy`, black-box: the binary against the simulated deploy API over loopback.
//! The simulator's request log is the witness: which creates went out, how many, in what
//! order, and that none went out twice.

mod common;

use clanforge_sim::{CreateFault, Image, JobKind};
use common::deploy::*;
use common::*;
use std::time::Duration;

// ---- the chain ----------------------------------------------------------------------------

#[test]
fn deploy_runs_the_chain_once_and_writes_every_id() {
    let server = world(quick_image());
    let run = deploy(&server).every_output().run();
    run.assert_code(0)
        .assert_logged("[1/4] update 5001: created")
        .assert_logged("[2/4] diff 5002: Completed")
        .assert_logged("[3/4] version 5003: created")
        .assert_logged("[4/4] installs of version 5003")
        .assert_logged("every step completed");
    assert_eq!(
        changes(&server),
        ["/cfp/v1/imageupdate/create", "/cfp/v1/imagediff/create", "/cfp/v1/imageversion/create"]
    );
    let result = run.result();
    assert_eq!(result["result"], "success");
    assert_eq!(result["update_id"], "5001");
    assert_eq!(result["diff_id"], "5002");
    assert_eq!(result["image_version_id"], "5003");
    assert_eq!(result["step"], "installs");
    let rows: Vec<&str> =
        result["jobs"].as_array().unwrap().iter().map(|r| r["job"].as_str().unwrap()).collect();
    assert_eq!(rows, ["update/5001", "diff/5002", "version/5003", "install/5003"]);
    let outputs = read_github_output(&run.file("github_output"));
    let last = |key: &str| outputs.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
    assert_eq!(last("result"), Some("success"));
    assert_eq!(last("image_version_id"), Some("5003"));
    assert!(run.file("ci.env").contains("CLANFORGE_DIFF_ID=5002\n"));
    // One row per step in the step summary.
    let summary = run.file("step_summary");
    for row in ["| update/5001 |", "| diff/5002 |", "| version/5003 |", "| install/5003 |"] {
        assert!(summary.contains(row), "{row} in {summary}");
    }
}

#[test]
fn each_create_asks_what_the_api_needs_and_the_version_what_the_flags_say() {
    let server = world(quick_image());
    deploy(&server)
        .flag("--restart")
        .arg("--desc", "build 77")
        .env("CLANFORGE_UPDATE_URL", URL)
        .run()
        .assert_code(0);
    let requests = server.requests();
    let find = |path: &str| requests.iter().find(|r| r.path == path).unwrap();
    let update = find("/cfp/v1/imageupdate/create");
    assert_eq!(query(update, "imageid").as_deref(), Some(IMAGE));
    assert_eq!(query(update, "machineid").as_deref(), Some(MACHINE));
    assert_eq!(query(update, "desc").as_deref(), Some("build 77"));
    assert_eq!(query(update, "url").as_deref(), Some(URL));
    let version = find("/cfp/v1/imageversion/create");
    assert_eq!(query(version, "diffid").as_deref(), Some("5002"));
    assert_eq!(query(version, "restart").as_deref(), Some("1"));
    assert_eq!(query(version, "full"), None);
    // The lock is looked up before each of the update and the diff, never after.
    let options = requests.iter().filter(|r| r.path == "/cfp/v1/image/options").count();
    assert_eq!(options, 2);
}

#[test]
fn until_version_stops_after_the_version_and_until_rollout_watches_the_rollout() {
    let server = world(quick_image());
    let run = deploy(&server).arg("--until", "version").run();
    run.assert_code(0);
    assert_eq!(run.result()["step"], "version");
    assert!(!server.requests().iter().any(|r| r.path.contains("imageinstall")));

    let server = world(quick_image());
    let run = deploy(&server).arg("--until", "rollout").run();
    run.assert_code(0).assert_logged("[4/4] rollout of image 1234");
    assert!(server.requests().iter().any(|r| r.path.ends_with("/image/1234/status")));
}

#[test]
fn start_makes_one_job_and_prints_its_id() {
    let server = world(quick_image());
    let run = on_image(Gate::against(&server).without("--update-id").flag("start").flag("update"))
        .github()
        .run();
    run.assert_code(0).assert_logged("[1/1] update 5001: created");
    assert_eq!(changes(&server), ["/cfp/v1/imageupdate/create"]);
    assert_eq!(run.result()["update_id"], "5001");
    assert_eq!(run.result()["step"], "update");

    let run = Gate::against(&server)
        .without("--update-id")
        .flag("start")
        .flag("diff")
        .arg("--game-id", GAME)
        .arg("--image-id", IMAGE)
        .arg("--machine-id", MACHINE)
        .run();
    run.assert_code(0);
    assert_eq!(run.result()["diff_id"], "5002");

    let run = Gate::against(&server)
        .without("--update-id")
        .flag("start")
        .flag("version")
        .arg("--diff-id", "5002")
        .run();
    run.assert_code(0);
    assert_eq!(run.result()["image_version_id"], "5003");
    assert_eq!(run.result()["diff_id"], "5002");
    assert_each_sent_at_most_once(&server);
}

// ---- a create whose outcome is unknown --------------------------------------------------

#[test]
fn an_update_created_but_whose_answer_was_lost_is_adopted_not_made_again() {
    for fault in [CreateFault::LostAfter, CreateFault::ServerError] {
        let server = world(quick_image().fault(JobKind::ImageUpdate, fault));
        let run = deploy(&server).run();
        run.assert_code(0)
            .assert_logged("the create's answer was lost; image/options names image update 5001")
            .assert_logged("waiting on it as the one created");
        assert_each_sent_at_most_once(&server);
        assert_eq!(run.result()["update_id"], "5001", "{fault:?}");
    }
}

#[test]
fn a_diff_created_but_whose_answer_was_lost_is_adopted_not_made_again() {
    let server = world(quick_image().fault(JobKind::ImageDiff, CreateFault::LostAfter));
    let run = deploy(&server).run();
    run.assert_code(0).assert_logged("image/options names image diff 5002");
    assert_each_sent_at_most_once(&server);
    assert_eq!(run.result()["diff_id"], "5002");
}

#[test]
fn a_create_lost_before_it_made_anything_fails_without_a_second_create() {
    let server = world(quick_image().fault(JobKind::ImageUpdate, CreateFault::LostBefore));
    let run = deploy(&server).every_output().run();
    run.assert_code(4)
        .assert_logged("the image update's create went out and its outcome is unknown");
    run.assert_logged("nothing locks the image now: no image update is running");
    assert_eq!(changes(&server), ["/cfp/v1/imageupdate/create"]);
    let result = run.result();
    assert_eq!(result["result"], "error");
    assert_eq!(result["step"], "update");
    assert!(result["error"].as_str().unwrap().starts_with("update step: "));
}

#[test]
fn a_version_whose_answer_was_lost_is_not_made_again_and_the_gate_says_what_to_check() {
    let server = world(quick_image().fault(JobKind::ImageVersion, CreateFault::LostAfter));
    let run = deploy(&server).run();
    run.assert_code(4).assert_logged(
        "image diff 5002 no longer locks the image, so a version was most likely made",
    );
    assert_each_sent_at_most_once(&server);
    assert_eq!(run.result()["step"], "version");
    assert_eq!(run.result()["diff_id"], "5002");
}

// ---- locks ------------------------------------------------------------------------------

#[test]
fn a_lock_by_an_older_diff_fails_by_default_naming_it_and_creating_nothing() {
    let server = world(quick_image().locked_by(218_595));
    let run = deploy(&server).every_output().run();
    run.assert_code(4)
        .assert_logged("image 1234 is locked by image diff 218595: stopping (--if-locked fail)")
        .assert_logged("--if-locked reject --yes-reject-diff");
    assert!(changes(&server).is_empty(), "{:?}", changes(&server));
    let result = run.result();
    assert_eq!(result["locked_by"], "diff/218595");
    assert!(run.file("github_output").contains("locked_by=diff/218595\n"));
    assert!(run.file("ci.env").contains("CLANFORGE_LOCKED_BY=diff/218595\n"));
}

#[test]
fn if_locked_wait_waits_for_the_lock_to_go_then_creates_once() {
    let image = Image {
        unlocks_after: Some(Duration::from_millis(600)),
        ..quick_image().locked_by(218_595)
    };
    let server = world(image);
    let run = deploy(&server).arg("--if-locked", "wait").run();
    run.assert_code(0)
        .assert_logged("waiting until nothing locks it (--if-locked wait)")
        .assert_logged("image 1234 is no longer locked");
    assert_each_sent_at_most_once(&server);
    let requests = server.requests();
    let first_create = requests.iter().position(|r| r.path.ends_with("/create")).unwrap();
    let options: Vec<_> =
        requests[..first_create].iter().filter(|r| r.path.ends_with("/image/options")).collect();
    assert!(options.len() >= 2, "the lock was read again until it went");
    assert!(requests[first_create].at >= requests[0].at + Duration::from_millis(500));
}

#[test]
fn if_locked_wait_gives_up_at_the_deadline_without_creating() {
    let server = world(quick_image().locked_by(218_595));
    let run = deploy(&server).arg("--if-locked", "wait").arg("--timeout", "700ms").run();
    run.assert_code(3).assert_logged(
        "image 1234 was still locked by image diff 218595 when the deadline (--timeout) passed",
    );
    assert!(changes(&server).is_empty());
    assert!(run.elapsed < Duration::from_secs(2), "{:?}", run.elapsed);
}

#[test]
fn if_locked_reject_needs_its_confirmation_and_then_rejects_once_before_creating() {
    let server = world(quick_image().locked_by(218_595));
    let run = deploy(&server).arg("--if-locked", "reject").run();
    run.assert_code(2).assert_logged("add --yes-reject-diff");
    assert!(server.requests().is_empty(), "a usage error sends nothing");

    let run = deploy(&server).arg("--if-locked", "reject").flag("--yes-reject-diff").run();
    run.assert_code(0).assert_logged("rejected image diff 218595 (reinstall=0)");
    let sent = changes(&server);
    assert_eq!(sent[0], "/cfp/v1/imagediff/218595/reject");
    assert_eq!(sent[1], "/cfp/v1/imageupdate/create");
    assert_each_sent_at_most_once(&server);
    let reject = request(&server, "/reject");
    assert_eq!(query(&reject, "reinstall").as_deref(), Some("0"));
}

// ---- a diff with no changes --------------------------------------------------------------

#[test]
fn a_diff_with_no_changes_stops_before_the_version_unless_full() {
    let empty = Image { empty_diff: true, ..quick_image() };
    let server = world(empty.clone());
    let run = deploy(&server).run();
    run.assert_code(1).assert_logged("image diff 5002 found no changes").assert_logged("--full");
    assert!(!changes(&server).iter().any(|p| p.contains("imageversion")));
    assert_eq!(run.result()["step"], "diff");

    let server = world(empty);
    let run = deploy(&server).flag("--full").run();
    run.assert_code(0).assert_logged("--full: a full version is packaged all the same");
    let version = request(&server, "imageversion/create");
    assert_eq!(query(&version, "full").as_deref(), Some("1"));
}

// ---- dry run -----------------------------------------------------------------------------

#[test]
fn dry_run_prints_every_request_and_sends_none() {
    let server = world(quick_image());
    let run =
        deploy(&server).flag("--dry-run").env("CLANFORGE_UPDATE_URL", URL).every_output().run();
    run.assert_code(0)
        .assert_logged("GET /cfp/v1/image/options?accountserviceid=7&gameid=42&imageid=1234")
        .assert_logged(
            "GET /cfp/v1/imageupdate/create?accountserviceid=7&imageid=1234&machineid=5678",
        )
        .assert_logged("&url=s3://my-bucket/…  (changes state: sent once)")
        .assert_logged("GET /cfp/v1/imageupdate/{updateid}/status?accountserviceid=7")
        .assert_logged(
            "GET /cfp/v1/imageversion/create?accountserviceid=7&diffid={diffid}&restart=0",
        )
        .assert_logged("GET /cfp/v1/imageinstall/status?accountserviceid=7");
    assert!(server.requests().is_empty(), "{:?}", server.requests());
    assert_eq!(run.result()["result"], "dry-run");
    // A dry run is a success: no error line, no error annotation.
    assert!(!run.stderr.contains("ERROR") && !run.stderr.contains("::error"), "{}", run.stderr);
    assert_outputs_hide(
        &run,
        &["AKIAURLKEY", "url%2Fsecret", "url/secret", SECRET_KEY, ACCESS_KEY],
    );
}

/// A dry run shows the update URL as its scheme and host only, never its user, password, path
/// or query; a URL it can't read as one, not at all.
#[test]
fn a_dry_run_shows_the_update_url_as_scheme_and_host() {
    let server = world(quick_image());
    for (url, shown) in [
        ("steam://builder:hunter22@install/740/", "&url=steam://install/…  (changes state"),
        ("s3://K:ab/cd@bkt/x/", "&url=s3://bkt/…  (changes state"),
        ("not a url", "&url=(hidden)  (changes state"),
    ] {
        let run = deploy(&server).flag("--dry-run").env("CLANFORGE_UPDATE_URL", url).run();
        run.assert_code(0).assert_logged(shown);
        assert!(
            !run.stderr.contains("hunter22") && !run.stderr.contains("ab/cd"),
            "{}",
            run.stderr
        );
    }
}

/// The update's description names the commit when the CI does (`GITHUB_SHA`, …).
#[test]
fn the_description_names_the_commit_when_ci_does() {
    let server = world(quick_image());
    let update = || deploy(&server).flag("--dry-run").arg("--until", "version");
    update().run().assert_code(0).assert_logged("&desc=clanforge-wait  (changes state");
    update()
        .env("GITHUB_SHA", "0123456789abcdef")
        .run()
        .assert_code(0)
        .assert_logged("&desc=clanforge-wait%3A+commit+01234567  (changes state");
}

/// An ID given is a positive integer, written any way a person might (` 0042 ` is 42); a
/// resume file that is missing or empty resumes nothing, one that is not JSON is refused.
#[test]
fn ids_are_positive_integers_and_a_resume_file_may_be_missing_but_not_broken() {
    let server = world(quick_image());
    let dry = || deploy(&server).flag("--dry-run");
    dry().arg("--update-id", " 0042 ").run().assert_code(0).assert_logged("/imageupdate/42/status");
    for bad in ["0", "12a"] {
        dry().arg("--update-id", bad).run().assert_code(2).assert_logged("--update-id");
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("r.json").display().to_string();
    dry().arg("--resume-from", &file).run().assert_code(0).assert_logged("imageupdate/create");
    for (held, code, says) in [
        ("", 0, "imageupdate/create"),
        (r#"{"update_id": 5001}"#, 0, "/imageupdate/5001/status"),
        ("{not json", 2, "--resume-from"),
    ] {
        std::fs::write(&file, held).unwrap();
        dry().arg("--resume-from", &file).run().assert_code(code).assert_logged(says);
    }
    assert!(server.requests().is_empty());
}

// ---- the update URL is a secret ----------------------------------------------------------

#[test]
fn the_update_url_reaches_the_api_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("url");
    std::fs::write(&file, format!("{URL}\n")).unwrap();
    let server = world(quick_image().fault(JobKind::ImageUpdate, CreateFault::ServerError));
    let run = deploy(&server).arg("--url-file", file.to_str().unwrap()).every_output().run();
    run.assert_code(0);
    let update = request(&server, "imageupdate/create");
    assert_eq!(query(&update, "url").as_deref(), Some(URL));
    // Masked first thing in GitHub mode; nowhere else, nor the options' own update_url.
    // (`%` is escaped as `%25` in a workflow command; the runner undoes it.)
    assert!(run.stderr.contains(&format!("::add-mask::{}", URL.replace('%', "%25"))));
    let parts = ["AKIAURLKEY", "url%2Fsecret", "url/secret", "SIMKEYID", "secret-in-url"];
    assert_outputs_hide(&run, &parts);
}

// ---- resumable ---------------------------------------------------------------------------

#[test]
fn a_deploy_that_timed_out_resumes_from_its_result_file_without_a_second_create() {
    let slow = Image { update_takes: Duration::from_millis(1500), ..quick_image() };
    let server = world(slow);
    let first = deploy(&server).arg("--timeout", "500ms").run();
    first.assert_code(3);
    assert_eq!(first.result()["update_id"], "5001");
    assert_eq!(first.result()["step"], "update");
    let file = first.dir_path("resume.json");
    std::fs::write(&file, &first.result_text).unwrap();

    let second = deploy(&server).arg("--resume-from", &file).run();
    second.assert_code(0).assert_logged("[1/4] update 5001: made already (given or resumed)");
    assert_eq!(
        changes(&server),
        ["/cfp/v1/imageupdate/create", "/cfp/v1/imagediff/create", "/cfp/v1/imageversion/create"]
    );
    assert_eq!(second.result()["update_id"], "5001");
}

/// What `--resume-from` can't take is refused before any request, saying what is wrong: a
/// deploy never starts over by mistake. Its IDs may be text or numbers (a hand-made file too).
#[test]
fn a_resume_file_it_cant_take_is_refused_and_its_ids_may_be_numbers() {
    let server = world(quick_image());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("resume.json").display().to_string();
    for (json, says) in [
        (r#"{"update_id": "1 2"}"#, "names more than one update_id (1 2)"),
        (r#"{"diff_id": true}"#, "has a diff_id that is not an ID"),
        (r#"{"diff_id": "0"}"#, "has a diff_id that is not an ID"),
        (r#"{"pending_create": "soon"}"#, "not a step and a time"),
        (r#"{"pending_create": 7}"#, "not text"),
    ] {
        std::fs::write(&file, json).unwrap();
        deploy(&server).arg("--resume-from", &file).run().assert_code(2).assert_logged(says);
    }
    assert!(server.requests().is_empty(), "{:?}", server.requests());
    std::fs::write(&file, r#"{"update_id": "5001", "diff_id": 5002, "image_version_id": ""}"#)
        .unwrap();
    deploy(&server)
        .arg("--resume-from", &file)
        .flag("--dry-run")
        .run()
        .assert_code(0)
        .assert_logged("GET /cfp/v1/imagediff/5002/status")
        .assert_logged("diffid=5002");
}

#[test]
fn a_resumed_deploy_sends_no_create_for_a_step_already_done() {
    let server = world(quick_image());
    let first = deploy(&server).arg("--until", "version").run();
    first.assert_code(0);
    let file = first.dir_path("resume.json");
    std::fs::write(&file, &first.result_text).unwrap();
    let before = changes(&server).len();

    // The same file as both the resume source and the result: read before it is emptied.
    let second = deploy(&server).arg("--resume-from", &file).arg("--result-file", &file).run();
    second.assert_code(0).assert_logged("[1/2] version 5003: made already");
    assert_eq!(changes(&server).len(), before, "{:?}", changes(&server));
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(written["update_id"], "5001");
    assert_eq!(written["image_version_id"], "5003");
    assert_eq!(written["step"], "installs");

    // The same IDs as flags do the same.
    let third = deploy(&server).arg("--diff-id", "5002").arg("--until", "version").run();
    third.assert_code(4).assert_logged("the diff must be complete and open");
    assert_eq!(changes(&server).len(), before + 1, "one version create, refused");
}

#[test]
fn sigterm_while_a_create_is_out_still_writes_what_it_made() {
    let server = world(quick_image().fault(JobKind::ImageUpdate, CreateFault::SlowAnswer));
    let running = deploy(&server).github().spawn();
    std::thread::sleep(Duration::from_millis(700));
    running.signal("TERM");
    let run = running.finish();
    run.assert_code(143);
    let result = run.result();
    assert_eq!(result["result"], "cancelled");
    assert_eq!(result["update_id"], "5001");
    assert_eq!(changes(&server), ["/cfp/v1/imageupdate/create"]);
    let outputs = read_github_output(&run.file("github_output"));
    assert!(outputs.contains(&("update_id".into(), "5001".into())));
}

#[test]
fn the_new_id_is_written_the_moment_it_is_known() {
    let slow = Image { update_takes: Duration::from_secs(5), ..quick_image() };
    let server = world(slow);
    let running = deploy(&server).github().dotenv().spawn();
    // The three files are written one after the other: wait (4 s at most) for all three.
    let read = |name: &str| std::fs::read_to_string(running.path(name)).unwrap_or_default();
    let deadline = std::time::Instant::now() + Duration::from_secs(4);
    let (written, github, dotenv) = loop {
        let files = (read("result.json"), read("github_output"), read("ci.env"));
        let all = [&files.0, &files.1, &files.2].iter().all(|f| f.contains("5001"));
        if all || std::time::Instant::now() > deadline {
            break files;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    running.signal("TERM");
    let run = running.finish();
    run.assert_code(143);
    let written: serde_json::Value = serde_json::from_str(&written).unwrap();
    assert_eq!(written["result"], "running");
    assert_eq!(written["update_id"], "5001");
    assert!(github.contains("update_id=5001\n"), "{github}");
    assert!(dotenv.contains("CLANFORGE_UPDATE_ID=5001\n"), "{dotenv}");
}

// ---- usage ------------------------------------------------------------------------------

#[test]
fn deploy_names_each_missing_id_and_refuses_job_arguments() {
    let server = world(quick_image());
    let run = deploy(&server).without("--game-id").run();
    run.assert_code(2).assert_logged("--game-id (CLANFORGE_GAME_ID) is missing");
    let run = deploy(&server).arg("--image-id", "12x").run();
    run.assert_code(2).assert_logged("--image-id (CLANFORGE_IMAGE_ID) must be a positive integer");
    assert!(server.requests().is_empty());
}

#[test]
fn deploy_demo_plans_against_the_simulated_image_and_refuses_a_real_one() {
    let run = Gate::demo().flag("deploy").flag("--dry-run").run();
    run.assert_code(0)
        .assert_logged("GET /cfp/v1/imageupdate/create?accountserviceid=demo&imageid=1234");
    assert_eq!(run.result()["simulated"], true);
    let run = Gate::demo().flag("deploy").arg("--image-id", "77").run();
    run.assert_code(2).assert_logged("can't be combined with --image-id");
}

#[test]
fn a_refused_deploy_command_line_writes_every_output_and_masks_the_url() {
    let server = world(quick_image());
    let run = deploy(&server).arg("--until", "forever").arg("--url", URL).every_output().run();
    run.assert_code(2).assert_logged("invalid value 'forever' for '--until <STEP>'");
    assert_eq!(run.result()["result"], "error");
    assert!(run.file("ci.env").starts_with("CLANFORGE_RESULT=error\n"));
    assert!(run.stderr.contains("::add-mask::url%252Fsecret-PLUGH"), "{}", run.stderr);
    // A URL where clap expected none is masked too.
    let run = deploy(&server).flag("--bogus").flag(URL).github().run();
    run.assert_code(2);
    assert!(run.stderr.contains("::add-mask::AKIAURLKEY"), "{}", run.stderr);
    assert_outputs_hide(&run, &["AKIAURLKEY", "url%2Fsecret", "url/secret"]);
    assert!(server.requests().is_empty());
}
