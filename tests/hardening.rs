//! Issue 19: a client that trusts only what it should. Each test is one numbered finding of the
//! issue, black-box against the simulator.

mod common;

use clanforge_sim::SimServer;
use common::deploy::{deploy, quick_image, world};
use common::*;

/// Finding 8: no value may change a URL's shape, and Basic auth can't carry a ':' in the user.
#[test]
fn ids_that_would_change_the_url_and_a_colon_in_the_access_key_are_refused() {
    let server = serve(vec![status(5, 100)]);
    for id in ["..", ".", "12/34", "0", "1 2", "x"] {
        let run = Gate::against(&server).arg("--update-id", id).every_output().run();
        run.assert_code(2)
            .assert_logged("--update-id (CLANFORGE_UPDATE_ID) must be a positive integer");
        assert_eq!(run.result()["result"], "error", "{id}");
    }
    for asid in ["..", "7/8"] {
        Gate::against(&server)
            .arg("--asid", asid)
            .run()
            .assert_code(2)
            .assert_logged("--asid (CLANFORGE_ASID) must be a positive integer");
    }
    Gate::against(&server)
        .env("CLANFORGE_ACCESS_KEY", "AKIA:oops")
        .run()
        .assert_code(2)
        .assert_logged("--access-key (CLANFORGE_ACCESS_KEY) holds a ':'");
    assert_eq!(server.requests().len(), 0);
    // A leading zero or spaces are still the same number.
    Gate::against(&server).arg("--update-id", " 0424242 ").run().assert_code(0);
}

/// Finding 5: a redirect is followed only within the base URL's origin, a few hops at most.
#[test]
fn redirects_stay_within_the_origin_and_a_loop_is_one_error() {
    use clanforge_sim::Reply;
    // Elsewhere: another server that would say "Completed", never asked.
    let elsewhere = serve(vec![status(5, 100)]);
    let server = serve(vec![Reply::http(302, "").with_header(
        "Location",
        &format!("{}/cfp/v1/imageupdate/{UPDATE_ID}/status", elsewhere.url()),
    )]);
    let run = Gate::against(&server).every_output().run();
    run.assert_code(4).assert_logged("another origin than --base-url's: not followed");
    assert_eq!(elsewhere.requests().len(), 0);
    assert_eq!(run.result()["result"], "error");

    // A loop: the first request and 3 hops, then one error, at once.
    let looping = serve(vec![Reply::http(302, "").with_header(
        "Location",
        &format!("/cfp/v1/imageupdate/{UPDATE_ID}/status?accountserviceid=7"),
    )]);
    let run = Gate::against(&looping).run();
    run.assert_code(4).assert_logged("the API redirected more than 3 times");
    assert_eq!(looping.requests().len(), 4);

    // One hop within the origin (the same endpoint, moved) is followed, and logged.
    let moved = serve(vec![
        Reply::http(301, "").with_header(
            "Location",
            &format!("/cfp/v1/imageupdate/{UPDATE_ID}/status?accountserviceid=7&moved=1"),
        ),
        status(5, 100),
    ]);
    Gate::against(&moved)
        .run()
        .assert_code(0)
        .assert_logged("the API redirected (HTTP 301) to http://127.0.0.1:")
        .assert_logged("followed (same origin)");
}

/// `deploy` of image 1234 on the simulated image, checkpointed to `file`.
fn deploy_resuming(server: &SimServer, file: &str) -> Gate {
    deploy(server).arg("--result-file", file).arg("--resume-from", file)
}

fn creates(server: &clanforge_sim::SimServer, endpoint: &str) -> usize {
    let path = format!("/cfp/v1/{endpoint}/create");
    server.requests().iter().filter(|r| r.path == path).count()
}

/// Runs a deploy until `endpoint`'s create is on the wire (the simulator holds its answer),
/// SIGKILLs it there, and returns the result file it left.
fn killed_while_creating(
    server: &clanforge_sim::SimServer,
    endpoint: &str,
    dir: &tempfile::TempDir,
) -> String {
    let file = dir.path().join("deploy.json").display().to_string();
    let running = deploy_resuming(server, &file).spawn();
    let started = std::time::Instant::now();
    while creates(server, endpoint) == 0 {
        assert!(started.elapsed() < std::time::Duration::from_secs(10), "no {endpoint} create");
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    running.signal("KILL");
    let killed = running.finish();
    assert_eq!(killed.code, -1, "{}", killed.stderr);
    std::fs::read_to_string(&file).unwrap()
}

/// Findings 1 and 3: the intent is on record before a create leaves, so a rerun after a
/// SIGKILL while it was out reads state and never sends it again: for the update, the diff and
/// the version. Creates are counted in the simulator's log across both runs.
#[test]
fn a_kill_while_a_create_is_out_never_leads_to_a_second_create() {
    use clanforge_sim::JobKind;
    use clanforge_sim::{CreateFault, Image, Sim};
    use std::time::Duration;
    for (kind, endpoint, step) in [
        (JobKind::ImageUpdate, "imageupdate", "update"),
        (JobKind::ImageDiff, "imagediff", "diff"),
        (JobKind::ImageVersion, "imageversion", "version"),
    ] {
        // Jobs long enough to be running (and so to lock the image) when the rerun looks.
        let image = Image {
            update_takes: Duration::from_secs(2),
            diff_takes: Duration::from_secs(2),
            ..Image::quick(42, 1234)
        }
        .fault(kind, CreateFault::Held);
        let server = Sim::new().credentials(ACCESS_KEY, SECRET_KEY).image(image).spawn().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let left = killed_while_creating(&server, endpoint, &dir);
        let file = dir.path().join("deploy.json").display().to_string();
        let rerun = deploy_resuming(&server, &file).run();
        assert_eq!(creates(&server, endpoint), 1, "{step}: {}", rerun.stderr);
        let checkpoint: serde_json::Value = serde_json::from_str(&left).unwrap();
        assert!(
            checkpoint["pending_create"].as_str().unwrap().starts_with(&format!("{step} ")),
            "{step}: the intent is on record: {left}"
        );
        let result: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        match kind {
            // The update or diff the lost create made is running: adopted, the deploy goes on.
            JobKind::ImageUpdate | JobKind::ImageDiff => {
                rerun.assert_code(0).assert_logged("waiting on it as the one created");
                assert_eq!(result["pending_create"], "");
            }
            // A version can't be told from the outside: exit 4, saying where to look, and the
            // intent stays on record for the next rerun.
            _ => {
                rerun.assert_code(4).assert_logged("so a version was most likely made");
                assert!(result["pending_create"].as_str().unwrap().starts_with("version "));
            }
        }
    }
}

/// Finding 3: the job the lost create made has ended before the rerun, so nothing locks the
/// image: the rerun stops (exit 4) rather than create a second update.
#[test]
fn a_lost_create_whose_job_has_ended_is_not_sent_again() {
    use clanforge_sim::JobKind;
    use clanforge_sim::{CreateFault, Image, Sim};
    let server = Sim::new()
        .credentials(ACCESS_KEY, SECRET_KEY)
        .image(Image::quick(42, 1234).fault(JobKind::ImageUpdate, CreateFault::Held))
        .spawn()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    killed_while_creating(&server, "imageupdate", &dir);
    // The quick update is long done by now.
    std::thread::sleep(std::time::Duration::from_millis(500));
    let file = dir.path().join("deploy.json").display().to_string();
    let rerun = deploy_resuming(&server, &file).run();
    rerun
        .assert_code(4)
        .assert_logged("an earlier run sent it at")
        .assert_logged("or one was made and has already ended");
    assert_eq!(creates(&server, "imageupdate"), 1);
}

/// Finding 4: a checkpoint that can't be written (a full disk: `/dev/full`) stops the deploy
/// before its create, exit 2 naming the file; it used to go on creating with no checkpoint.
#[test]
fn a_checkpoint_that_cannot_be_written_stops_the_deploy_before_its_create() {
    for flag in ["--result-file", "--dotenv"] {
        let server = world(quick_image());
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("deploy.json").display().to_string();
        let run =
            deploy_resuming(&server, &file).without("--resume-from").arg(flag, "/dev/full").run();
        run.assert_code(2)
            .assert_logged("/dev/full")
            .assert_logged("the deploy stopped here, before a create no rerun could know of");
        assert_eq!(creates(&server, "imageupdate"), 0, "{flag}: {}", run.stderr);
    }
}

/// Finding 2: a rerun that fails (a usage error: the secret missing; an API error: the keys
/// refused) keeps every ID the checkpoint held, and a pending create, so that no later resume
/// starts over.
#[test]
fn a_failed_rerun_keeps_the_checkpoint() {
    let server = world(quick_image());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("deploy.json").display().to_string();
    deploy_resuming(&server, &file).run().assert_code(0);
    let ids = |text: &str| {
        let json: serde_json::Value = serde_json::from_str(text).unwrap();
        ["update_id", "diff_id", "image_version_id"].map(|k| json[k].as_str().unwrap().to_owned())
    };
    let made = ids(&std::fs::read_to_string(&file).unwrap());
    assert!(made.iter().all(|id| !id.is_empty()), "{made:?}");
    for (why, gate, code) in [
        (
            "the secret missing",
            deploy_resuming(&server, &file).without_env("CLANFORGE_SECRET_KEY"),
            2,
        ),
        (
            "the keys refused",
            deploy_resuming(&server, &file).env("CLANFORGE_SECRET_KEY", "wrong"),
            4,
        ),
    ] {
        let run = gate.run();
        run.assert_code(code);
        let left = std::fs::read_to_string(&file).unwrap();
        assert_eq!(ids(&left), made, "{why}: {left}");
        assert!(left.contains("\"result\": \"error\""), "{why}: {left}");
    }
    // A pending create survives a refused rerun too: refused before any request, or by the
    // API while the rerun waits on the diff before it.
    for (why, gate, code) in [
        (
            "the secret missing",
            deploy_resuming(&server, &file).without_env("CLANFORGE_SECRET_KEY"),
            2,
        ),
        (
            "the keys refused",
            deploy_resuming(&server, &file).env("CLANFORGE_SECRET_KEY", "wrong"),
            4,
        ),
    ] {
        let mut json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        json["image_version_id"] = "".into();
        json["pending_create"] = "version 1796170000".into();
        std::fs::write(&file, json.to_string()).unwrap();
        gate.run().assert_code(code);
        let left: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        assert_eq!(left["pending_create"], "version 1796170000", "{why}: {left}");
    }
}

/// A run that never starts keeps the checkpoint its files held, read leniently (what it can't
/// read holds nothing): a result file's JSON, or a dotenv file's last line of each key.
#[test]
fn a_run_that_never_starts_keeps_what_its_file_held() {
    let server = world(quick_image());
    let dir = tempfile::tempdir().unwrap();
    let refused = |flag: &str, file: &std::path::Path, held: &str| {
        std::fs::write(file, held).unwrap();
        deploy(&server)
            .arg(flag, &file.display().to_string())
            .without_env("CLANFORGE_SECRET_KEY")
            .run()
            .assert_code(2);
        std::fs::read_to_string(file).unwrap()
    };
    let json = refused(
        "--result-file",
        &dir.path().join("r.json"),
        r#"{"update_id": "1 2", "diff_id": [3]}"#,
    );
    let kept: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!((kept["update_id"].as_str(), kept["diff_id"].as_str()), (Some("1 2"), Some("")));
    let env = refused(
        "--dotenv",
        &dir.path().join("r.env"),
        "CLANFORGE_UPDATE_ID=9\nCLANFORGE_UPDATE_ID=5001\nCLANFORGE_PENDING_CREATE=diff 1796170000\n",
    );
    assert!(env.contains("CLANFORGE_UPDATE_ID=5001\n"), "{env}");
    assert!(env.contains("CLANFORGE_PENDING_CREATE=diff 1796170000\n"), "{env}");
    assert!(server.requests().is_empty());
}

/// Finding 7: a fleet's answer is read up to `--max-body` (64 MiB by default; the fault suite
/// reads 50,000 entries), and a smaller cap says which flag raises it.
#[test]
fn max_body_caps_a_fleets_answer_and_says_how_to_raise_it() {
    use clanforge_sim::{Reply, Script, Sim};
    let entries: Vec<(u64, u64, i64, u8)> = (0..12_000).map(|i| (i, 3, 4, 50)).collect();
    let server = Sim::new()
        .credentials(ACCESS_KEY, SECRET_KEY)
        .serve_job("install/3".parse().unwrap(), Script::Replies(vec![Reply::installs(&entries)]))
        .spawn()
        .unwrap();
    Gate::against(&server)
        .without("--update-id")
        .flag("install/3")
        .arg("--max-body", "1MiB")
        .arg("--timeout", "1s")
        .run()
        .assert_code(3)
        .assert_logged(
            "the answer is larger than 1048576 bytes (a fleet's answer: raise --max-body)",
        );
    for (value, says) in [
        ("0MiB", "at least 1MiB"),
        ("64", "a size needs a unit, e.g. 64MiB"),
        ("2GiB", "at most 1GiB"),
    ] {
        Gate::against(&server).arg("--max-body", value).run().assert_code(2).assert_logged(says);
    }
}
