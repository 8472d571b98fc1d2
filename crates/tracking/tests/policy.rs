//! The whole policy truth table, from `policy_truth_table.txt`.

use beacon_tracking::policy::*;

fn opt<T: std::str::FromStr>(s: &str) -> Option<T>
where
    T::Err: std::fmt::Debug,
{
    (s != "-").then(|| s.parse().unwrap())
}

#[test]
fn truth_table() {
    let table = include_str!("policy_truth_table.txt");
    let mut rows = 0;
    for line in table.lines().filter(|l| !l.starts_with('#')) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let mode: TrackingMode = f[0].parse().unwrap();
        let send = Send {
            source: f[1].parse().unwrap(),
            template_type: opt(f[2]),
            campaign_type: opt(f[3]),
        };
        let want = f[4] == "track";
        assert_eq!(should_track(mode, &send, None), want, "{line}");
        // The override wins over every mode.
        assert!(should_track(mode, &send, Some(true)), "{line}");
        assert!(!should_track(mode, &send, Some(false)), "{line}");
        rows += 1;
    }
    let all = TrackingMode::ALL.len()
        * SourceType::ALL.len()
        * (TemplateType::ALL.len() + 1)
        * (CampaignType::ALL.len() + 1);
    assert_eq!(rows, all, "the table covers every combination");
}

#[test]
fn wire_names_round_trip() {
    for m in TrackingMode::ALL {
        assert_eq!(m.as_str().parse::<TrackingMode>(), Ok(*m));
        assert_eq!(
            serde_json::to_string(m).unwrap(),
            format!("\"{}\"", m.as_str())
        );
        assert_eq!(
            serde_json::from_str::<TrackingMode>(&format!("\"{m}\"")).unwrap(),
            *m
        );
    }
    for s in SourceType::ALL {
        assert_eq!(s.as_str().parse::<SourceType>(), Ok(*s));
    }
    for t in TemplateType::ALL {
        assert_eq!(t.as_str().parse::<TemplateType>(), Ok(*t));
    }
    for c in CampaignType::ALL {
        assert_eq!(c.as_str().parse::<CampaignType>(), Ok(*c));
    }
}

#[test]
fn parse_errors_list_valid_values() {
    let err = "enabled".parse::<TrackingMode>().unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"unknown tracking mode "enabled": expected one of ENABLED, DISABLED, MARKETING_ONLY"#
    );
    let err = "X".parse::<TemplateType>().unwrap_err();
    assert!(
        err.to_string()
            .contains("TRANSACTIONAL, MARKETING, HEADLESS")
    );
    assert!(serde_json::from_str::<SourceType>("\"campaign\"").is_err());
}

#[test]
fn send_serializes_with_wire_names() {
    let send = Send::new(SourceType::Campaign).campaign(CampaignType::Marketing);
    let json = serde_json::to_string(&send).unwrap();
    assert_eq!(
        json,
        r#"{"source":"CAMPAIGN","template_type":null,"campaign_type":"MARKETING"}"#
    );
}
