//! Issue 13, items 1–4: another local user (uid 65534, see `common::hostile`) tries what
//! the issue found: make root's isobench execute its probe, unmount or delete what
//! isobench did not create, write through links it planted, and feed `isobench clean` a
//! journal. Each test plays the attack and checks it no longer works; they are skipped,
//! saying why, only where the test cannot switch to uid 65534.

use std::path::PathBuf;
use std::process::Output;

mod common;

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_isobench"))
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../fixtures/runs/small-startup-clone.json"
);

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

mod clean {
    //! 2. `clean` and teardown

    use std::path::{Path, PathBuf};
    use std::process::{Command, Output};

    use isobench::cleanup::Resource;
    use serde_json::json;

    use crate::common::hostile::{mounts_at, Hostile, TestMount, NOBODY};
    use crate::{bin, common, text};

    /// The journal of a dead run (no pid 999999999 exists) listing `resources`.
    pub(super) fn journal_text(resources: &[serde_json::Value]) -> String {
        let mut lines =
            vec![json!({"op": "owner", "pid": 999_999_999u32, "start_time": 1}).to_string()];
        for (i, r) in resources.iter().enumerate() {
            lines.push(json!({"op": "add", "id": i + 1, "res": r}).to_string());
        }
        lines.join("\n") + "\n"
    }

    fn dead_journal(dir: &Path, resources: &[serde_json::Value]) -> PathBuf {
        let p = dir.join("999999999.jsonl");
        std::fs::write(&p, journal_text(resources)).expect("write journal");
        p
    }

    /// `isobench clean --journal-dir DIR` as root.
    pub(super) fn clean(journal: &Path) -> Output {
        Command::new(bin())
            .arg("clean")
            .arg("--journal-dir")
            .arg(journal)
            .output()
            .expect("isobench clean")
    }

    #[test]
    fn clean_does_not_unmount_through_a_symlink_another_user_planted() {
        let Some(h) = Hostile::new("clean_does_not_unmount_through_a_symlink_another_user_planted")
        else {
            return;
        };
        // A killed run's journal names a mount below a directory the other user controls;
        // it replaces the run's directory with a symlink to a decoy whose `rootfs/proc` is a
        // mount point (pointed at `/`, that would be the host's /proc).
        let hostile = h.their_dir("hostile", 0o755);
        let decoy = h.root_dir("decoy", 0o755);
        let target = decoy.join("rootfs/proc");
        let decoy_mount = TestMount::new(&target);
        let journal = h.root_dir("journal", 0o700);
        let recorded = hostile.join("work/rootfs/proc");
        dead_journal(
            &journal,
            &[json!({"kind": "mount", "path": recorded, "mount_id": decoy_mount.id()})],
        );
        h.sh_ok(&format!(
            "ln -s '{}' '{}/work'",
            decoy.display(),
            hostile.display()
        ));
        let out = clean(&journal);
        let all = text(&out);
        assert!(
            !mounts_at(&target).is_empty(),
            "root's clean unmounted {} through uid {NOBODY}'s symlink {}/work:\n{all}",
            target.display(),
            hostile.display()
        );
        assert!(
            all.contains("skipped") && all.contains(&recorded.display().to_string()),
            "clean says what it skipped: {all}"
        );
    }

    #[test]
    fn clean_does_not_delete_through_a_symlink_another_user_planted() {
        let Some(h) = Hostile::new("clean_does_not_delete_through_a_symlink_another_user_planted")
        else {
            return;
        };
        let hostile = h.their_dir("hostile", 0o755);
        let decoy = h.root_dir("decoy", 0o755);
        std::fs::create_dir_all(decoy.join("rootfs/data")).expect("mkdir");
        let precious = decoy.join("rootfs/data/precious");
        std::fs::write(&precious, "precious\n").expect("write");
        let journal = h.root_dir("journal", 0o700);
        let recorded = hostile.join("work/rootfs/data");
        dead_journal(&journal, &[json!({"kind": "dir", "path": recorded})]);
        h.sh_ok(&format!(
            "ln -s '{}' '{}/work'",
            decoy.display(),
            hostile.display()
        ));
        let out = clean(&journal);
        let all = text(&out);
        assert!(
            precious.exists(),
            "root's clean deleted {} through uid {NOBODY}'s symlink {}/work:\n{all}",
            precious.display(),
            hostile.display()
        );
        assert!(
            all.contains("skipped") && all.contains("symlink"),
            "clean says what it skipped and why: {all}"
        );
    }

    #[test]
    fn clean_leaves_a_mount_that_is_not_the_one_it_recorded() {
        if !common::is_root() {
            eprintln!("skipping clean_leaves_a_mount_that_is_not_the_one_it_recorded: mounting needs root");
            return;
        }
        let tmp = tempfile::tempdir().expect("tempdir");
        let point = tmp.path().join("m");
        let recorded = {
            let _first = TestMount::new(&point);
            isobench::sys::fs::mount_ids(&point).expect("mount ids")
        };
        let recorded_id = recorded.id;
        // Someone else's mount now stands at the same path.
        let second = TestMount::new(&point);
        let second_id = second.id();
        let journal = tmp.path().join("journal");
        std::fs::create_dir(&journal).expect("mkdir");
        dead_journal(
            &journal,
            &[json!({
                "kind": "mount",
                "path": point,
                "mount_id": recorded.id,
                "mount_unique_id": recorded.unique,
            })],
        );
        let out = clean(&journal);
        let all = text(&out);
        assert!(
            mounts_at(&point).iter().any(|m| m.0 == second_id),
            "clean unmounted mount {second_id} at {}, not the mount {recorded_id} it recorded:\n{all}",
            point.display()
        );
        assert!(all.contains("skipped"), "{all}");
        assert!(out.status.success(), "nothing of ours is left: {all}");
    }

    #[test]
    fn removing_a_directory_does_not_reach_into_a_mount_below_it() {
        if !common::is_root() {
            eprintln!("skipping removing_a_directory_does_not_reach_into_a_mount_below_it: mounting needs root");
            return;
        }
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("work");
        let mounted = TestMount::new(&dir.join("rootfs/data"));
        let inside = mounted.0.join("file");
        std::fs::write(&inside, "on the mounted file system").expect("write");
        std::fs::write(dir.join("ours"), "x").expect("write");
        let r = isobench::cleanup::remove_resource(&Resource::Dir { path: dir.clone() });
        assert!(
            inside.exists(),
            "removing {} deleted a file on the file system mounted below it",
            dir.display()
        );
        let e = r
            .expect_err("a mount point below the directory is an error")
            .to_string();
        assert!(
            e.contains("mount point") && e.contains("rootfs/data"),
            "{e}"
        );
    }
}

mod outputs {
    //! 3. Output files

    use std::os::unix::fs::MetadataExt;
    use std::path::Path;
    use std::process::{Command, Stdio};

    use crate::common::hostile::{Hostile, NOBODY};
    use crate::{bin, text, FIXTURE};

    #[test]
    fn compare_output_does_not_follow_a_planted_partial_link() {
        let Some(h) = Hostile::new("compare_output_does_not_follow_a_planted_partial_link") else {
            return;
        };
        // Root writes into a directory the other user can write (its own).
        let out_dir = h.their_dir("out", 0o755);
        let victim = h.root_dir("victim", 0o755).join("precious");
        std::fs::write(&victim, "precious\n").expect("write");
        h.sh_ok(&format!(
            "ln -s '{}' '{}/cmp.partial'",
            victim.display(),
            out_dir.display()
        ));
        let out = Command::new(bin())
            .args(["compare", FIXTURE, FIXTURE, "-o"])
            .arg(out_dir.join("cmp.txt"))
            .output()
            .expect("compare");
        assert_eq!(
            std::fs::read_to_string(&victim).expect("victim"),
            "precious\n",
            "compare -o wrote through uid {NOBODY}'s link: {}",
            text(&out)
        );
        let m = std::fs::symlink_metadata(out_dir.join("cmp.txt")).expect("output");
        assert!(m.file_type().is_file() && m.len() > 0);
    }

    #[test]
    fn report_and_export_outputs_do_not_follow_links_planted_for_every_pid() {
        let Some(h) =
            Hostile::new("report_and_export_outputs_do_not_follow_links_planted_for_every_pid")
        else {
            return;
        };
        let out_dir = h.their_dir("out", 0o755);
        let victims = h.root_dir("victims", 0o755);
        let pid_max: u64 = std::fs::read_to_string("/proc/sys/kernel/pid_max")
            .expect("pid_max")
            .trim()
            .parse()
            .expect("pid_max");
        // Every pid when there are few (32768 here, as the issue found); else the next
        // 20000 pids, which the commands below will get on a host that is not forking madly.
        let last: u64 = std::fs::read_to_string("/proc/sys/kernel/ns_last_pid")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(1);
        let (from, to) = if pid_max <= 65536 {
            (1, pid_max)
        } else {
            (last + 1, (last + 20000).min(pid_max))
        };
        for name in ["report.html", "export.csv"] {
            h.sh_ok(&format!(
                "cd '{}' && seq {from} {to} | sed 's|^|{}/.{name}.tmp.|' | xargs ln -s -t .",
                out_dir.display(),
                victims.display()
            ));
        }
        let spawn = |args: &[&str], out: &str| {
            let child = Command::new(bin())
                .args(args)
                .arg("-o")
                .arg(out_dir.join(out))
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn");
            let pid = u64::from(child.id());
            let o = child.wait_with_output().expect("wait");
            (pid, o)
        };
        for (args, out) in [
            (vec!["report", FIXTURE], "report.html"),
            (vec!["export", "--format", "csv", FIXTURE], "export.csv"),
        ] {
            let (pid, o) = spawn(&args, out);
            assert!(o.status.success(), "{}", text(&o));
            let written: Vec<_> = std::fs::read_dir(&victims)
                .expect("victims")
                .flatten()
                .map(|e| e.file_name())
                .collect();
            assert!(
                written.is_empty(),
                "`isobench {}` (pid {pid}) wrote through uid {NOBODY}'s link into {}: {written:?}",
                args[0],
                victims.display()
            );
            assert!(
                (from..=to).contains(&pid),
                "pid {pid} outside the planted range"
            );
            let m = std::fs::symlink_metadata(out_dir.join(out)).expect("output");
            assert!(m.file_type().is_file() && m.len() > 0);
            assert_eq!(m.mode() & 0o777, 0o644, "output mode");
        }
    }

    #[test]
    fn the_run_file_does_not_follow_a_planted_temp_link() {
        let Some(h) = Hostile::new("the_run_file_does_not_follow_a_planted_temp_link") else {
            return;
        };
        let out_dir = h.their_dir("results", 0o755);
        let victim = h.root_dir("victim", 0o755).join("precious");
        std::fs::write(&victim, "precious\n").expect("write");
        h.sh_ok(&format!(
            "ln -s '{}' '{}/.run.json.tmp.{}'",
            victim.display(),
            out_dir.display(),
            std::process::id()
        ));
        let run = isobench_reports::Run::load(Path::new(FIXTURE)).expect("fixture");
        isobench::output::runfile::write_run(&out_dir.join("run.json"), &run).expect("write run");
        assert_eq!(
            std::fs::read_to_string(&victim).expect("victim"),
            "precious\n",
            "the run file was written through uid {NOBODY}'s link"
        );
        let back = isobench_reports::Run::load(&out_dir.join("run.json")).expect("reload");
        assert_eq!(back.measurements.len(), run.measurements.len());
    }
}

mod journals {
    //! 4. Journals and the KVM cache

    use std::os::unix::process::CommandExt;
    use std::path::Path;
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    use isobench::vm::kvm_cache::{self, Entry, FileStamp, Key};
    use serde_json::json;

    use super::clean::{clean, journal_text};
    use crate::common::hostile::{mode_of, Hostile, NOBODY};
    use crate::{bin, common, text};

    /// Copy `content` into `dest` as the other user (the file is theirs).
    fn plant(h: &Hostile, dest: &Path, content: &str) {
        let staged = h.path().join(format!(
            "staged-{}",
            dest.file_name().expect("name").to_string_lossy()
        ));
        std::fs::write(&staged, content).expect("stage");
        h.sh_ok(&format!("cp '{}' '{}'", staged.display(), dest.display()));
    }

    #[test]
    fn clean_refuses_a_journal_dir_another_user_made() {
        let Some(h) = Hostile::new("clean_refuses_a_journal_dir_another_user_made") else {
            return;
        };
        // The other user pre-creates the journal directory (mode 777) with a journal naming
        // the victim's directory.
        let journal = h.their_dir("journal", 0o777);
        let important = h.root_dir("important", 0o755);
        std::fs::write(important.join("file"), "keep").expect("write");
        plant(
            &h,
            &journal.join("1.jsonl"),
            &journal_text(&[json!({"kind": "dir", "path": important})]),
        );
        let out = clean(&journal);
        let all = text(&out);
        assert!(
            important.join("file").exists(),
            "clean deleted {} on the word of uid {NOBODY}'s journal:\n{all}",
            important.display()
        );
        assert_eq!(out.status.code(), Some(1), "{all}");
        assert!(all.contains("owned by uid 65534"), "{all}");
    }

    #[test]
    fn a_non_root_clean_refuses_a_journal_dir_it_does_not_own() {
        let Some(h) = Hostile::new("a_non_root_clean_refuses_a_journal_dir_it_does_not_own") else {
            return;
        };
        // Here uid 65534 is the victim: its journal directory was made by someone else with
        // mode 777 (as another user can pre-create /tmp/isobench-<uid>).
        let journal = h.root_dir("journal", 0o777);
        let mine = h.their_dir("mine", 0o755);
        h.sh_ok(&format!("echo keep > '{}/file'", mine.display()));
        std::fs::write(
            journal.join("1.jsonl"),
            journal_text(&[json!({"kind": "dir", "path": mine})]),
        )
        .expect("journal");
        let out = Command::new(bin())
            .arg("clean")
            .env("ISOBENCH_JOURNAL_DIR", &journal)
            .env("HOME", "/nonexistent")
            .env_remove("XDG_RUNTIME_DIR")
            .uid(NOBODY)
            .gid(NOBODY)
            .output()
            .expect("clean as nobody");
        let all = text(&out);
        assert!(
            mine.join("file").exists(),
            "uid {NOBODY}'s clean deleted its {} on the word of a journal it did not write:\n{all}",
            mine.display()
        );
        assert_eq!(out.status.code(), Some(1), "{all}");
        assert!(all.contains(&journal.display().to_string()), "{all}");
    }

    #[test]
    fn run_refuses_a_journal_dir_another_user_made() {
        let Some(h) = Hostile::new("run_refuses_a_journal_dir_another_user_made") else {
            return;
        };
        let journal = h.their_dir("journal", 0o777);
        let work = h.root_dir("work", 0o755);
        let out = Command::new(bin())
            .args(["run", "--scenario", "startup", "--subject", "process"])
            .args([
                "--iterations",
                "1",
                "--warmup",
                "0",
                "--no-progress",
                "--json",
            ])
            .arg(h.path().join("run.json"))
            .env("ISOBENCH_JOURNAL_DIR", &journal)
            .env("ISOBENCH_WORKDIR", &work)
            .output()
            .expect("run");
        let all = text(&out);
        assert!(
            !out.status.success(),
            "the run used uid {NOBODY}'s journal dir:\n{all}"
        );
        assert!(all.contains("owned by uid 65534"), "{all}");
    }

    #[test]
    fn journals_are_private_to_their_user() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let journal = tmp.path().join("journal");
        let work = tmp.path().join("work");
        std::fs::create_dir(&work).expect("mkdir");
        let mut child = Command::new(bin())
            .args(["run", "--scenario", "startup", "--subject", "process"])
            .args([
                "--iterations",
                "100000",
                "--warmup",
                "0",
                "--no-progress",
                "--json",
            ])
            .arg(tmp.path().join("run.json"))
            .env("ISOBENCH_JOURNAL_DIR", &journal)
            .env("ISOBENCH_WORKDIR", &work)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn run");
        let deadline = Instant::now() + Duration::from_secs(60);
        let file = loop {
            let found = std::fs::read_dir(&journal).ok().and_then(|rd| {
                rd.flatten()
                    .map(|e| e.path())
                    .find(|p| p.extension().is_some_and(|x| x == "jsonl"))
            });
            if let Some(f) = found {
                break f;
            }
            if Instant::now() > deadline || child.try_wait().expect("try_wait").is_some() {
                let _ = child.kill();
                panic!("no journal appeared in {}", journal.display());
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let (file_mode, dir_mode) = (mode_of(&file), mode_of(&journal));
        isobench::sys::process::kill(child.id() as i32, libc::SIGINT).expect("SIGINT");
        let (_, stderr) = common::wait_run(&mut child, Duration::from_secs(60));
        assert_eq!(
            file_mode,
            0o600,
            "journal {} mode; {stderr}",
            file.display()
        );
        assert_eq!(dir_mode, 0o700, "journal dir {} mode", journal.display());
    }

    /// A key whose files are real (a fake QEMU and kernel) in `dir`.
    fn key_in(dir: &Path) -> Key {
        let qemu = dir.join("qemu");
        let kernel = dir.join("vmlinuz");
        std::fs::write(&qemu, b"#!/bin/sh\n").expect("write qemu");
        std::fs::write(&kernel, b"kernel").expect("write kernel");
        Key {
            boot_id: "6f1c2d9e-0000-4000-8000-000000000002".into(),
            qemu: FileStamp::of(&qemu).expect("stat qemu"),
            kernel: FileStamp::of(&kernel).expect("stat kernel"),
            machine: "pc".into(),
        }
    }

    #[test]
    fn a_kvm_cache_another_user_can_write_is_refused() {
        let Some(h) = Hostile::new("a_kvm_cache_another_user_can_write_is_refused") else {
            return;
        };
        let key = key_in(&h.root_dir("files", 0o755));
        let entry = Entry::new(key.clone(), true, "usable: planted".into());
        let planted = serde_json::to_string(&entry).expect("json");

        // A verdict the other user planted in its own directory is not believed, and
        // nothing is written there.
        let theirs = h.their_dir("cache", 0o755);
        plant(&h, &theirs.join("kvm-probe.json"), &planted);
        assert!(
            kvm_cache::load(&theirs.join("kvm-probe.json"), &key).is_none(),
            "a verdict planted by uid {NOBODY} was believed"
        );
        let e = kvm_cache::store(&theirs.join("new.json"), &entry)
            .expect_err("a cache in uid 65534's directory is refused")
            .to_string();
        assert!(e.contains("owned by uid 65534"), "{e}");
        assert!(!theirs.join("new.json").exists());

        // Root's directory, but writable by everyone (sticky or not): refused too.
        for mode in [0o777, 0o1777] {
            let shared = h.root_dir(&format!("shared-{mode:o}"), mode);
            let e = kvm_cache::store(&shared.join("kvm-probe.json"), &entry)
                .expect_err("a cache in a directory others can write is refused")
                .to_string();
            assert!(e.contains("writable by group or others"), "{e}");
        }

        // A private directory: written, mode 0600, and believed.
        let mine = h.root_dir("mine", 0o700);
        let path = mine.join("kvm-probe.json");
        kvm_cache::store(&path, &entry).expect("store");
        assert_eq!(mode_of(&path), 0o600);
        assert!(kvm_cache::load(&path, &key).is_some());
    }
}
