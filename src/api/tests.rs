use super::*;
use crate::kind::JobKind;
use crate::secret::Secret;

#[tokio::test(start_paused = true)]
async fn never_reached_takes_the_window_and_three_tries_and_a_first_answer_ends_it() {
    let window = Duration::from_secs(30);
    let mut reach = Reach::default();
    // Three quick tries are not enough: the window has not passed.
    for _ in 0..3 {
        assert_eq!(reach.failed(window), None);
    }
    tokio::time::advance(window).await;
    assert_eq!(reach.failed(window), Some((4, window)));
    // Whatever fails after a first answer (a name, a port, TLS) is an outage.
    let mut reach = Reach { answered: true, ..Reach::default() };
    tokio::time::advance(window * 2).await;
    for _ in 0..10 {
        assert_eq!(reach.failed(Duration::ZERO), None);
    }
}

fn client(base: &str) -> Client {
    let credentials = Credentials::Basic {
        access_key: Secret::new("AKIA-XYZZY"),
        secret_key: Secret::new("s3cr3t-PLUGH"),
    };
    Client::new(base.parse().unwrap(), "7 8".into(), credentials, None).unwrap()
}

#[test]
fn status_url_escapes_and_keeps_a_base_path() {
    let job = JobRef::new(JobKind::ImageUpdate, "12/34");
    assert_eq!(
        client("https://api.example.com").status_url(&job).as_str(),
        "https://api.example.com/cfp/v1/imageupdate/12%2F34/status?accountserviceid=7+8"
    );
    assert_eq!(
        client("http://127.0.0.1:8080/proxy/").status_url(&job).as_str(),
        "http://127.0.0.1:8080/proxy/cfp/v1/imageupdate/12%2F34/status?accountserviceid=7+8"
    );
}

#[test]
fn retry_after_takes_seconds_and_dates() {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480);
    assert_eq!(parse_retry_after(" 7 ", now), Some(Duration::from_secs(7)));
    assert_eq!(
        parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now),
        Some(Duration::from_secs(30))
    );
    assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now), Some(Duration::ZERO));
    assert_eq!(parse_retry_after("soon", now), None);
    assert_eq!(
        parse_retry_after("99999999999999999999999", now),
        Some(Duration::from_secs(u64::MAX))
    );
}

#[test]
fn ids_match_as_numbers_or_as_text() {
    assert!(same_id("0125", "125") && same_id(" 125", "125"));
    assert!(!same_id("999999", "125") && !same_id("abc", "125"));
    assert!(same_id("abc", "abc"));
}

#[test]
fn every_install_reference_shares_one_url() {
    let c = client("https://api.example.com");
    let a = c.status_url(&"install/1".parse().unwrap());
    let b = c.status_url(&"install".parse().unwrap());
    assert_eq!(a, b);
    assert_eq!(
        c.status_url(&"rollout/5".parse().unwrap()).as_str(),
        "https://api.example.com/cfp/v2/project/7%208/image/5/status?accountserviceid=7+8"
    );
}

#[test]
fn credentials_never_print() {
    let printed = format!("{:?}", client("https://api.example.com"));
    assert!(!printed.contains("XYZZY") && !printed.contains("PLUGH"), "{printed}");
}
