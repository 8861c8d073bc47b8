//! Issue 13, items 1–4: another local user (uid 65534, see `common::hostile`) tries what
//! the issue found: make root's isobench execute its probe, unmount or delete what
//! isobench did not create, write through links it planted, and feed `isobench clean` a
//! journal. Each test plays the attack and checks it no longer works; they are skipped,
//! saying why, only where the test cannot switch to uid 65534.

mod common;

mod work_dir {
    //! 1. The work directory

    use std::os::unix::fs::MetadataExt;
    use std::process::Command;

    use isobench::cleanup::Cleanup;
    use isobench::workdir::Env;

    use crate::common::hostile::{Hostile, NOBODY};

    #[test]
    fn a_work_base_another_user_can_change_is_refused() {
        let Some(h) = Hostile::new("a_work_base_another_user_can_change_is_refused") else {
            return;
        };
        // The other user's own directory, and a directory of root's inside it (the other
        // user can rename it away and put its own in its place).
        let theirs = h.their_dir("theirs", 0o755);
        let inside = theirs.join("roots");
        std::fs::create_dir(&inside).expect("mkdir");
        for base in [&theirs, &inside] {
            match Env::new(Cleanup::in_memory(), Some(base)) {
                Ok(env) => panic!(
                    "work base {} (under uid {NOBODY}'s directory) was accepted: {}",
                    base.display(),
                    env.workdir.display()
                ),
                Err(e) => {
                    let e = e.to_string();
                    assert!(e.contains("owned by uid 65534"), "{e}");
                    assert!(e.contains(&theirs.display().to_string()), "{e}");
                }
            }
        }

        // Root's, but anyone may rename entries in it: the other user swaps the run's
        // directory for one holding its own probe, which root would then execute.
        let open = h.root_dir("open", 0o777);
        match Env::new(Cleanup::in_memory(), Some(&open)) {
            Err(e) => {
                let e = e.to_string();
                assert!(e.contains("writable by group or others"), "{e}");
                assert!(e.contains("sticky"), "the message names the fix: {e}");
            }
            Ok(env) => {
                let w = env.workdir.display().to_string();
                let marker = h.path().join("ran-as-root");
                h.sh_ok(&format!(
                    "mv '{w}' '{w}.old' && mkdir '{w}' && \
                     printf '#!/bin/sh\\ntouch {m}\\n' > '{w}/isobench-probe' && \
                     chmod 755 '{w}/isobench-probe'",
                    m = marker.display()
                ));
                let _ = Command::new(&env.probe).status();
                panic!(
                    "a work base writable by others without the sticky bit was accepted; uid {NOBODY} \
                     swapped {w} and root ran its probe: {}",
                    marker.exists()
                );
            }
        }

        // Sticky (like /tmp and /var/tmp): accepted, and the other user can neither rename
        // the run's directory nor write into it.
        let sticky = h.root_dir("sticky", 0o1777);
        let env = Env::new(Cleanup::in_memory(), Some(&sticky)).expect("a sticky base is fine");
        let w = env.workdir.display().to_string();
        for attack in [
            format!("mv '{w}' '{w}.x'"),
            format!("touch '{w}/x'"),
            format!("mv '{w}/isobench-probe' '{w}.p'"),
        ] {
            assert!(
                !h.sh(&attack).status.success(),
                "uid {NOBODY} could `{attack}`"
            );
        }
        let m = std::fs::symlink_metadata(&env.probe).expect("probe");
        assert!(m.file_type().is_file());
        assert_eq!((m.uid(), m.mode() & 0o7777), (0, 0o755));
        let d = std::fs::symlink_metadata(&env.workdir).expect("work dir");
        assert_eq!((d.uid(), d.mode() & 0o7777), (0, 0o755));
    }
}
