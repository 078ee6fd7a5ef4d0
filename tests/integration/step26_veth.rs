//! Step 26: a bridge, a veth pair into a network namespace, addresses over
//! netlink, and a NAT rule: the namespace pings its gateway, and everything
//! is removed afterwards.

use std::ffi::CString;
use std::net::Ipv4Addr;

use mydocker::namespaces;
use mydocker::network::{iptables, netlink::Netlink};
use nix::sched::CloneFlags;
use rstest::rstest;

use crate::harness::{Env, env};

#[rstest]
fn a_namespace_pings_its_bridge_gateway(env: Env) {
    let tag = &env.tag[..6];
    let (bridge, veth, peer) = (
        format!("mdb{tag}"),
        format!("mdv{tag}"),
        format!("mdp{tag}"),
    );
    let third = (std::process::id() % 200) as u8;
    let (gw, ip) = (
        Ipv4Addr::new(10, 254, third, 1),
        Ipv4Addr::new(10, 254, third, 2),
    );

    // A process in a network namespace of its own.
    let argv: Vec<CString> = ["/bin/sleep", "30"]
        .iter()
        .map(|s| CString::new(*s).unwrap())
        .collect();
    let pid = namespaces::spawn(&argv, CloneFlags::CLONE_NEWNET, &[]).unwrap();

    let mut host = Netlink::new().unwrap();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let br = host.add_bridge(&bridge).unwrap();
        host.add_address(br, gw, 24).unwrap();
        host.set_up(br).unwrap();
        let v = host.add_veth(&veth, &peer).unwrap();
        host.set_master(v, br).unwrap();
        host.set_up(v).unwrap();
        let p = host.index(&peer).unwrap();
        host.move_to_namespace_of(p, pid.as_raw()).unwrap();
        assert!(
            host.link(&peer).unwrap().is_none(),
            "the peer is still on the host"
        );
        let mut inside = Netlink::in_namespace_of(pid.as_raw()).unwrap();
        let p = inside.index(&peer).unwrap();
        inside.add_address(p, ip, 24).unwrap();
        inside.set_up(p).unwrap();
        assert_eq!(host.link(&veth).unwrap().unwrap().master, Some(br));

        // Ping the gateway from inside, with bounded retries.
        let ok = (0..5).any(|_| {
            std::process::Command::new("nsenter")
                .args([
                    "-t",
                    &pid.to_string(),
                    "-n",
                    "busybox",
                    "ping",
                    "-c",
                    "1",
                    "-W",
                    "2",
                ])
                .arg(gw.to_string())
                .output()
                .map(|o| o.status.success())
                .unwrap_or(false)
        });
        assert!(ok, "no reply from the gateway {gw}");

        // A NAT rule, tagged as ours, and only ours deleted.
        let comment = iptables::comment(&env.tag, "veth-test");
        let rule = iptables::masquerade(&format!("10.254.{third}.0/24"), &bridge);
        rule.add(&comment).unwrap();
        assert_eq!(iptables::rules_with("nat", &comment).unwrap().len(), 1);
        rule.delete(&comment).unwrap();
        assert!(iptables::rules_with("nat", &comment).unwrap().is_empty());
    }));
    // Cleanup: the namespace's end takes the peer (and so the veth) with it.
    let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
    let _ = namespaces::wait_exit_code(pid);
    if let Ok(Some(l)) = host.link(&bridge) {
        host.delete(l.index).unwrap();
    }
    result.unwrap();
    let gone = (0..200).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(20));
        host.link(&veth).unwrap().is_none()
    });
    assert!(gone, "the veth is still there");
    assert!(host.link(&bridge).unwrap().is_none());
}
