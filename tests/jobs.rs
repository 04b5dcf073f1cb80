//! Every kind of job, and many in one gate, black-box: the binary against the simulator over
//! loopback. The simulator's request log is the witness for counts, order and spacing.

mod common;

use clanforge_sim::{JobRef, Reply, Script, Sim};
use clanforge_wait::testing::MIN_GAP;
use common::*;
use serde_json::{Value, json};
use std::time::Duration;

/// The `jobs` key's row for `job`.
fn row<'a>(result: &'a Value, job: &str) -> &'a Value {
    result["jobs"]
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["job"] == job))
        .unwrap_or_else(|| panic!("no row for {job} in {result}"))
}

fn failed_job() -> Reply {
    Reply::json(json!({"jobstateid": 6, "jobstatename": "Failed", "jobfailed": 1,
                       "joberror": "no space left on device"}))
}

// ---- update, diff, version: the job-style kinds ------------------------------------------

#[test]
fn every_job_style_kind_is_done_at_state_5_on_its_own_endpoint() {
    for (job, path) in [
        ("update/11", "/cfp/v1/imageupdate/11/status"),
        ("diff/12", "/cfp/v1/imagediff/12/status"),
        ("version/13", "/cfp/v1/imageversion/13/status"),
    ] {
        let server = serve_jobs(&[(job, vec![status(3, 0), status(4, 50), status(5, 100)])]);
        let run = on_jobs(&server, &[job]).run();
        run.assert_code(0).assert_logged("completed (Complete, 100%)");
        assert_eq!(row(&run.result(), job)["result"], "success");
        let requests = server.requests();
        assert!(requests.iter().all(|r| r.path == path), "{job}: {requests:?}");
        assert_eq!(requests.len(), 3);
    }
}

#[test]
fn every_job_style_kind_fails_on_a_failed_job() {
    for job in ["diff/12", "version/13"] {
        let server = serve_jobs(&[(job, vec![status(4, 10), failed_job()])]);
        let run = on_jobs(&server, &[job]).run();
        run.assert_code(1).assert_logged("no space left on device");
        assert_eq!(run.result()["error"], "no space left on device");
    }
}

#[test]
fn every_kind_reports_an_api_error_and_an_unknown_id() {
    let refusal = Reply::json(json!({"success": false, "error": true, "error_code": 1,
                                     "error_message": "image locked by diffid: 218595"}));
    for job in ["diff/12", "version/13", "install/14", "rollout/15"] {
        let server = serve_jobs(&[(job, vec![refusal.clone()])]);
        let run = on_jobs(&server, &[job]).run();
        run.assert_code(4).assert_logged("image locked by diffid: 218595");
        // Nothing served under that ID: the simulator answers 404.
        let server = serve_jobs(&[]);
        let run = on_jobs(&server, &[job]).run();
        run.assert_code(4).assert_logged("(HTTP 404");
    }
}

#[test]
fn every_kind_retries_what_is_transient() {
    for (job, done) in [
        ("diff/12", status(5, 100)),
        ("version/13", status(5, 100)),
        ("rollout/15", Reply::rollout(0, 0, 4)),
    ] {
        let busy = Reply::http(503, "<html>busy</html>");
        let working = match job {
            "rollout/15" => Reply::rollout(2, 0, 2),
            _ => status(4, 50),
        };
        let server = serve_jobs(&[(job, vec![working, busy, done])]);
        let run = on_jobs(&server, &[job]).run();
        run.assert_code(0).assert_logged("HTTP 503 Service Unavailable from the API; retrying");
    }
}

#[test]
fn an_answer_for_another_diff_is_an_api_error() {
    let server =
        serve_jobs(&[("diff/12", vec![Reply::json(json!({"jobstateid": 5, "diffid": 99}))])]);
    let run = on_jobs(&server, &["diff/12"]).run();
    run.assert_code(4).assert_logged("the API answered for diffid 99 when asked for image diff 12");
}

// ---- install ------------------------------------------------------------------------------

#[test]
fn installs_of_another_version_do_not_block() {
    let server = serve_jobs(&[(
        "install",
        vec![
            Reply::installs(&[(1, 99, 4, 50), (2, 42, 4, 10)]),
            Reply::installs(&[(2, 42, 4, 20)]),
        ],
    )]);
    let run = on_jobs(&server, &["install/99"]).run();
    run.assert_code(0)
        .assert_logged("the installs of image version 99 completed: its work was seen and is gone");
    let result = run.result();
    let row = row(&result, "install/99");
    assert_eq!((row["pending"].clone(), row["completed"].clone()), (json!(0), json!(1)));
}

#[test]
fn a_failed_install_among_finished_ones_fails_the_gate() {
    let server = serve_jobs(&[(
        "install",
        vec![
            Reply::installs(&[(1, 99, 4, 50), (2, 99, 4, 50)]),
            Reply::json(json!({"installs": [
                {"jobid": 2, "target_imageversionid": 99, "jobstateid": 6, "jobfailed": 1,
                 "joberror": "checksum mismatch"}]})),
        ],
    )]);
    let run = on_jobs(&server, &["install/99"]).run();
    run.assert_code(1).assert_logged("checksum mismatch");
    assert_eq!(row(&run.result(), "install/99")["failed"], 1);
}

#[test]
fn an_empty_install_list_at_the_first_look_settles_before_it_is_done() {
    let server = serve_jobs(&[("install", vec![Reply::installs(&[])])]);
    let run = on_jobs(&server, &["install/99"]).arg("--settle", "600ms").run();
    run.assert_code(0)
        .assert_logged(
            "install/99: nothing is queued yet: waiting until 0.6s (--settle 600ms, from the start)",
        )
        .assert_logged("completed: nothing was queued within the 600ms settle period");
    assert!(run.elapsed >= Duration::from_millis(600), "{:?}", run.elapsed);
}

#[test]
fn work_that_appears_during_the_settle_period_is_waited_on() {
    let server = serve_jobs(&[(
        "install",
        vec![
            Reply::installs(&[]),
            Reply::installs(&[(7, 99, 3, 0)]),
            Reply::installs(&[(7, 99, 4, 60)]),
            Reply::installs(&[]),
        ],
    )]);
    let run = on_jobs(&server, &["install/99"]).arg("--settle", "10s").run();
    run.assert_code(0).assert_logged("its work was seen and is gone");
    assert!(run.elapsed < Duration::from_secs(5), "{:?}", run.elapsed);
}

#[test]
fn every_install_reference_shares_one_request() {
    let server = serve_jobs(&[(
        "install",
        vec![
            Reply::installs(&[(1, 98, 4, 10), (2, 99, 4, 10), (3, 100, 4, 10)]),
            Reply::installs(&[(2, 99, 4, 90)]),
            Reply::installs(&[]),
        ],
    )]);
    let run = on_jobs(&server, &["install/98", "install/99", "install/100", "install"]).run();
    run.assert_code(0);
    let requests = server.requests();
    assert!(requests.iter().all(|r| r.path == "/cfp/v1/imageinstall/status"));
    assert_eq!(requests.len() as u64, run.result()["polls"].as_u64().unwrap());
    assert_eq!(requests.len(), 3, "one request a round for four references");
}

// ---- rollout --------------------------------------------------------------------------------

#[test]
fn a_rollout_is_done_when_no_machine_is_pending() {
    let server = serve_jobs(&[(
        "rollout/15",
        vec![Reply::rollout(4, 0, 0), Reply::rollout(1, 0, 3), Reply::rollout(0, 0, 4)],
    )]);
    let run = on_jobs(&server, &["rollout/15"]).run();
    run.assert_code(0).assert_logged("Running, 75% (1 left, 3 done)");
    let result = run.result();
    let row = row(&result, "rollout/15");
    assert_eq!((row["pending"].clone(), row["completed"].clone()), (json!(0), json!(4)));
    let paths: Vec<String> = server.requests().into_iter().map(|r| r.path).collect();
    assert!(paths.iter().all(|p| p == "/cfp/v2/project/7/image/15/status"), "{paths:?}");
}

#[test]
fn failed_machines_over_the_limit_fail_the_rollout_and_under_it_do_not() {
    let replies = vec![Reply::rollout(3, 1, 0), Reply::rollout(0, 2, 2)];
    let server = serve_jobs(&[("rollout/15", replies.clone())]);
    let run = on_jobs(&server, &["rollout/15"]).run();
    run.assert_code(1).assert_logged("1 machine or install failed");
    let server = serve_jobs(&[("rollout/15", replies)]);
    let run = on_jobs(&server, &["rollout/15"]).arg("--max-failed-machines", "2").run();
    run.assert_code(0);
    assert_eq!(row(&run.result(), "rollout/15")["failed"], 2);
}

// ---- many jobs ------------------------------------------------------------------------------

/// A job that is Running for `polls` polls, then completes.
fn done_after(polls: usize) -> Vec<Reply> {
    let mut replies = vec![status(4, 50); polls];
    replies.push(status(5, 100));
    replies
}

#[test]
fn three_jobs_end_in_their_own_order_under_one_deadline() {
    let server = Sim::new()
        .credentials(ACCESS_KEY, SECRET_KEY)
        .serve_job("update/1".parse().unwrap(), Script::Timeline(Duration::from_millis(2100)))
        .serve_job("diff/2".parse().unwrap(), Script::Timeline(Duration::from_millis(700)))
        .serve_job("version/3".parse().unwrap(), Script::Timeline(Duration::from_millis(1400)))
        .spawn()
        .unwrap();
    let run =
        on_jobs(&server, &["update/1", "diff/2", "version/3"]).arg("--max-interval", "200ms").run();
    run.assert_code(0).assert_logged("waiting up to 10s on 3 jobs: update/1, diff/2, version/3");
    let done = |job: &str| {
        run.stderr
            .find(&format!("{job}: Completed, 100%"))
            .unwrap_or_else(|| panic!("{job} never completed:\n{}", run.stderr))
    };
    assert!(done("diff/2") < done("version/3") && done("version/3") < done("update/1"));
    let result = run.result();
    assert_eq!(result["update_id"], "1");
    assert_eq!(result["jobs"].as_array().unwrap().len(), 3);
}

#[test]
fn the_first_failure_ends_the_gate_and_the_others_are_unfinished() {
    let server = serve_jobs(&[
        ("update/1", done_after(50)),
        ("update/2", vec![status(4, 10), failed_job()]),
        ("update/3", done_after(50)),
    ]);
    let run = on_jobs(&server, &["update/1", "update/2", "update/3"]).every_output().run();
    run.assert_code(1).assert_logged("update/1 unfinished, update/2 failed, update/3 unfinished");
    let result = run.result();
    assert_eq!(result["result"], "failed");
    assert!(result["error"].as_str().unwrap().starts_with("update/2: no space left"));
    assert_eq!(row(&result, "update/1")["result"], "unfinished");
    assert_eq!(row(&result, "update/2")["result"], "failed");
    // Within one poll of the failure: the job's second poll, then no other request.
    let requests = server.requests();
    let last = requests.last().unwrap();
    assert_eq!(last.path, "/cfp/v1/imageupdate/2/status", "{requests:?}");
    assert_eq!(requests.len(), 5, "{requests:?}");
    let outputs = read_github_output(&run.file("github_output"));
    let jobs = &outputs.iter().find(|(k, _)| k == "jobs").unwrap().1;
    let jobs: Value = serde_json::from_str(jobs).unwrap();
    assert_eq!(jobs[1]["result"], "failed");
    assert!(run.file("ci.env").contains("\nCLANFORGE_JOB_RESULTS=[{\"job\":\"update/1\""));
}

#[test]
fn no_fail_fast_waits_on_every_job_and_exits_with_the_worst() {
    let server = serve_jobs(&[
        ("update/1", done_after(3)),
        ("diff/2", vec![status(4, 10), failed_job()]),
        ("version/3", vec![status(4, 10)]),
        ("install", vec![Reply::json(json!({"success": false, "error_message": "forbidden"}))]),
    ]);
    let run = on_jobs(&server, &["update/1", "diff/2", "version/3", "install/4"])
        .flag("--no-fail-fast")
        .arg("--timeout", "2s")
        .run();
    // An API error (4) outranks a failure (1), a timeout (3) and a success.
    run.assert_code(4);
    let result = run.result();
    let results: Vec<&str> = ["update/1", "diff/2", "version/3", "install/4"]
        .iter()
        .map(|job| row(&result, job)["result"].as_str().unwrap())
        .collect();
    assert_eq!(results, ["success", "failed", "timeout", "error"]);
    assert!(result["error"].as_str().unwrap().starts_with("install/4: "));
}

#[cfg(unix)]
#[test]
fn a_sigterm_writes_every_jobs_state() {
    let server = serve_jobs(&[("update/1", vec![status(4, 10)]), ("diff/2", vec![status(3, 0)])]);
    let running = on_jobs(&server, &["update/1", "diff/2"]).every_output().spawn();
    let started = std::time::Instant::now();
    while server.requests().len() < 2 && started.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(5));
    }
    running.signal("TERM");
    let run = running.finish();
    run.assert_code(143);
    let result = run.result();
    assert_eq!(row(&result, "update/1")["state"], "Running");
    assert_eq!(row(&result, "diff/2")["state"], "Queued");
    assert_eq!(row(&result, "diff/2")["result"], "cancelled");
}

/// A gate that polls each job every 400-800 ms.
fn slow(gate: Gate) -> Gate {
    gate.arg("--interval", "400ms").arg("--max-interval", "800ms")
}

#[test]
fn many_jobs_cost_no_more_requests_than_each_alone_and_never_burst() {
    // Jobs that end by the clock, each after its own time: how many polls each takes depends
    // on when the gate looks, so a gate that looked at every job more often together than it
    // would alone (or at one job for another's sake) spends more requests than the sum.
    // Polled every 400-800 ms each, four jobs ask for fewer requests than the 100 ms gap
    // allows: the gap does not hide a gate that asks for too many.
    let jobs: Vec<(JobRef, Duration)> = [1000, 1600, 2200, 2800]
        .into_iter()
        .enumerate()
        .map(|(i, ms)| {
            let job = format!("update/{}", i + 1).parse().unwrap();
            (job, Duration::from_millis(ms))
        })
        .collect();
    let serve = |jobs: &[(JobRef, Duration)]| {
        jobs.iter()
            .fold(Sim::new().credentials(ACCESS_KEY, SECRET_KEY), |sim, (job, took)| {
                sim.serve_job(job.clone(), Script::Timeline(*took))
            })
            .spawn()
            .unwrap()
    };
    let refs: Vec<String> = jobs.iter().map(|(job, _)| job.to_string()).collect();
    let alone: Vec<usize> = std::thread::scope(|scope| {
        let runs: Vec<_> = jobs
            .iter()
            .zip(&refs)
            .map(|(job, reference)| {
                scope.spawn(move || {
                    let server = serve(std::slice::from_ref(job));
                    slow(on_jobs(&server, &[reference])).run().assert_code(0);
                    server.requests().len()
                })
            })
            .collect();
        runs.into_iter().map(|run| run.join().unwrap()).collect()
    });
    let server = serve(&jobs);
    let refs: Vec<&str> = refs.iter().map(String::as_str).collect();
    slow(on_jobs(&server, &refs)).run().assert_code(0);
    let requests = server.requests();
    let sum: usize = alone.iter().sum();
    // Within 10 %, as the policy simulator's target: when a look comes depends on the clock.
    assert!(
        requests.len() * 10 <= sum * 11,
        "{} requests together > 110 % of {sum} alone ({alone:?})",
        requests.len()
    );
    // The gap counts from the answer to the next request: at the server, request to request,
    // it is at least as long (less the clock's reading of the two arrivals, under 1 ms).
    let least = MIN_GAP.saturating_sub(Duration::from_millis(1));
    for pair in requests.windows(2) {
        let gap = pair[1].at - pair[0].at;
        assert!(gap >= least, "two requests {gap:?} apart");
    }
}

#[test]
fn a_repeated_job_is_waited_on_once() {
    let server = serve_jobs(&[("update/424242", vec![status(5, 100)])]);
    let run = on_jobs(&server, &["update/424242"]).arg("--update-id", UPDATE_ID).run();
    run.assert_code(0);
    assert_eq!(run.result()["jobs"].as_array().unwrap().len(), 1);
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn a_malformed_reference_is_a_usage_error_that_names_it() {
    for bad in ["updat/1", "update/", "update/1/2", "update/-1", "update/abc"] {
        let server = serve_jobs(&[]);
        let run = on_jobs(&server, &[bad]).run();
        run.assert_code(2).assert_logged(&format!("{bad:?} is not a job"));
        run.assert_logged("update, diff, version, install, rollout");
        assert!(server.requests().is_empty());
    }
}

#[test]
fn jobs_come_from_the_environment_too() {
    let server =
        serve_jobs(&[("diff/2", vec![status(5, 100)]), ("version/3", vec![status(5, 100)])]);
    let run = Gate::against(&server)
        .without("--update-id")
        .env("CLANFORGE_JOBS", "diff/2   version/3")
        .run();
    run.assert_code(0);
    let jobs: Vec<JobRef> = run.result()["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["job"].as_str().unwrap().parse().unwrap())
        .collect();
    assert_eq!(jobs.len(), 2);
}

#[test]
fn a_retry_after_holds_back_every_job() {
    let server = serve_jobs(&[
        ("update/1", vec![Reply::http(429, "{}").with_header("Retry-After", "1"), status(5, 100)]),
        ("diff/2", vec![status(4, 10), status(4, 20), status(5, 100)]),
    ]);
    on_jobs(&server, &["update/1", "diff/2"]).run().assert_code(0);
    let requests = server.requests();
    let limited = requests[0].at;
    assert_eq!(requests[0].path, "/cfp/v1/imageupdate/1/status");
    // Every request after the 429 waits out the second asked, whichever job it is for.
    for request in &requests[1..] {
        assert!(request.at - limited >= Duration::from_secs(1), "{request:?}");
    }
}

#[test]
fn the_step_summary_has_a_row_per_job() {
    let server = serve_jobs(&[
        ("update/1", vec![status(5, 100)]),
        ("rollout/2", vec![Reply::rollout(0, 0, 3)]),
    ]);
    let run = on_jobs(&server, &["update/1", "rollout/2"]).arg("--settle", "200ms").github().run();
    run.assert_code(0);
    let summary = run.file("step_summary");
    let rows: Vec<&str> = summary.lines().filter(|l| l.starts_with("| ")).collect();
    assert_eq!(rows.len(), 3, "{summary}");
    assert!(rows[1].starts_with("| update/1 | success | Complete |"), "{summary}");
    assert!(rows[2].starts_with("| rollout/2 | success | Complete | 100% |"), "{summary}");
}

#[test]
fn a_refusal_shared_by_every_install_reference_is_each_ones() {
    let refusal = Reply::json(json!({"success": false, "error_message": "forbidden"}));
    let server = serve_jobs(&[("install", vec![refusal])]);
    let run = on_jobs(&server, &["install/1", "install/2"]).run();
    run.assert_code(4);
    let result = run.result();
    assert_eq!(row(&result, "install/1")["result"], "error");
    assert_eq!(row(&result, "install/2")["result"], "error");
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn nothing_queued_is_not_a_stall() {
    let server = serve_jobs(&[("install", vec![Reply::installs(&[])])]);
    let run = on_jobs(&server, &["install/99"])
        .arg("--settle", "700ms")
        .arg("--stall-timeout", "200ms")
        .run();
    run.assert_code(0).assert_logged("nothing was queued within the 700ms settle period");
}
