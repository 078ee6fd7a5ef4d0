//! Integration tests, one module per chapter. A chapter's module is compiled
//! when its feature is on, so `just test-step N` (a build with `step-N`)
//! runs exactly the tests of chapters 1..=N. Most need root.

#[cfg(feature = "oci_runtime")]
#[path = "../support/containerd.rs"]
mod containerd;
mod expect;
mod harness;
mod readme_examples;
#[cfg(feature = "pull")]
#[path = "../support/registry.rs"]
mod registry;
#[path = "../support/tools.rs"]
mod tools;

#[cfg(feature = "check")]
mod step01_check;
#[cfg(feature = "cli")]
mod step02_cli;
#[cfg(feature = "namespaces")]
mod step03_namespaces;
#[cfg(feature = "cgroups")]
mod step04_cgroups;
#[cfg(feature = "run")]
mod step05_run;
#[cfg(feature = "memory-limit")]
mod step06_memory;
#[cfg(feature = "cpu-limit")]
mod step07_cpu;
#[cfg(feature = "pipe")]
mod step08_pipe;
#[cfg(feature = "union")]
mod step09_union;
#[cfg(feature = "pivot")]
mod step10_pivot;
#[cfg(feature = "image")]
mod step11_image;
#[cfg(feature = "layers")]
mod step12_layers;
#[cfg(feature = "volume")]
mod step13_volume;
#[cfg(feature = "commit")]
mod step14_commit;
#[cfg(feature = "detach")]
mod step15_detach;
#[cfg(feature = "ps")]
mod step16_ps;
#[cfg(feature = "logs")]
mod step17_logs;
#[cfg(feature = "exec")]
mod step18_exec;
#[cfg(feature = "stop")]
mod step19_stop;
#[cfg(feature = "rm")]
mod step20_rm;
#[cfg(feature = "isolation")]
mod step21_isolation;
#[cfg(feature = "commit-container")]
mod step22_commit;
#[cfg(feature = "cp")]
mod step23_cp;
#[cfg(feature = "env")]
mod step24_env;
#[cfg(feature = "net-ip")]
mod step25_ip;
#[cfg(feature = "net-veth")]
mod step26_veth;
#[cfg(feature = "net-modes")]
mod step27_net_modes;
#[cfg(feature = "net-bridge")]
mod step28_net_bridge;
#[cfg(feature = "step-29")]
mod step29_ipam;
#[cfg(feature = "step-30")]
mod step30_netlink;
#[cfg(feature = "network")]
mod step31_network;
#[cfg(feature = "step-32")]
mod step32_network_e2e;
#[cfg(feature = "capabilities")]
mod step33_capabilities;
#[cfg(feature = "seccomp")]
mod step34_seccomp;
#[cfg(feature = "hardening")]
mod step35_devices;
#[cfg(feature = "hardening")]
mod step35_kernel_view;
#[cfg(feature = "terminal")]
mod step36_terminals;
#[cfg(feature = "lifecycle")]
mod step37_lifecycle;
#[cfg(feature = "lifecycle")]
mod step37_start;
#[cfg(feature = "oci_image")]
mod step38_image_store;
#[cfg(feature = "pull")]
mod step39_pull;
#[cfg(feature = "step-40")]
mod step40_namespaces;
#[cfg(feature = "step-40")]
mod step40_oci_runtime;
#[cfg(feature = "step-40")]
mod step40_podman;
