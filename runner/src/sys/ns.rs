//! The namespace types: their clone flags, /proc/PID/ns names and what they need.
//!
//! See namespaces(7), clone(2), unshare(2), setns(2).

/// One namespace type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NsType {
    /// Case name in results: "pid", "mnt", "uts", "ipc", "net", "user", "cgroup", "time".
    pub name: &'static str,
    pub flag: u64,
    /// Entry under /proc/PID/ns that setns(2) joins. For pid and time, unshare(2) only
    /// affects children, so the namespace created is the `*_for_children` one.
    pub proc_entry: &'static str,
    /// The lowest kernel version that has it (for messages).
    pub since: &'static str,
}

pub const CLONE_NEWTIME: u64 = 0x80;

pub const ALL: [NsType; 8] = [
    NsType {
        name: "pid",
        flag: libc::CLONE_NEWPID as u64,
        proc_entry: "pid_for_children",
        since: "3.8",
    },
    NsType {
        name: "mnt",
        flag: libc::CLONE_NEWNS as u64,
        proc_entry: "mnt",
        since: "2.4.19",
    },
    NsType {
        name: "uts",
        flag: libc::CLONE_NEWUTS as u64,
        proc_entry: "uts",
        since: "2.6.19",
    },
    NsType {
        name: "ipc",
        flag: libc::CLONE_NEWIPC as u64,
        proc_entry: "ipc",
        since: "2.6.19",
    },
    NsType {
        name: "net",
        flag: libc::CLONE_NEWNET as u64,
        proc_entry: "net",
        since: "2.6.29",
    },
    NsType {
        name: "user",
        flag: libc::CLONE_NEWUSER as u64,
        proc_entry: "user",
        since: "3.8",
    },
    NsType {
        name: "cgroup",
        flag: libc::CLONE_NEWCGROUP as u64,
        proc_entry: "cgroup",
        since: "4.6",
    },
    NsType {
        name: "time",
        flag: CLONE_NEWTIME,
        proc_entry: "time_for_children",
        since: "5.6",
    },
];

/// All CLONE_NEW* flags together.
pub fn all_flags() -> u64 {
    ALL.iter().fold(0, |a, n| a | n.flag)
}

/// The flags of a container (what `sandbox`, runc and friends create by default):
/// pid, mnt, uts, ipc, net.
pub fn container_flags() -> u64 {
    ALL.iter()
        .filter(|n| matches!(n.name, "pid" | "mnt" | "uts" | "ipc" | "net"))
        .fold(0, |a, n| a | n.flag)
}

pub fn by_name(name: &str) -> Option<NsType> {
    ALL.iter().copied().find(|n| n.name == name)
}

/// The case name of a flag set: "none", a single type's name, "all", or "a+b+c".
pub fn case_name(flags: u64) -> String {
    if flags == 0 {
        return "none".into();
    }
    if flags == all_flags() {
        return "all".into();
    }
    let names: Vec<&str> = ALL
        .iter()
        .filter(|n| flags & n.flag != 0)
        .map(|n| n.name)
        .collect();
    names.join("+")
}

#[cfg(test)]
mod tests {
    #[test]
    fn names() {
        assert_eq!(super::case_name(0), "none");
        assert_eq!(super::case_name(super::all_flags()), "all");
        assert_eq!(super::case_name(libc::CLONE_NEWNET as u64), "net");
        assert_eq!(
            super::case_name(super::container_flags()),
            "pid+mnt+uts+ipc+net"
        );
        // CLONE_NEWTIME shares its bit with clone(2)'s CSIGNAL byte.
        assert_eq!(super::CLONE_NEWTIME & 0xff, super::CLONE_NEWTIME);
    }
}
