//! Step 36: `-t` gives the program a pseudo-terminal of its own, made in
//! the container's devpts; `-i` decides whether it reads the caller's
//! stdin. The interactive tests drive `mydocker` through a real
//! pseudo-terminal made here, as a user's terminal emulator would: typed
//! bytes go in through its master, and what `run` shows comes out of it.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::pty::{Winsize, openpty};
use nix::sys::termios::{Termios, tcgetattr};
use rstest::rstest;

use crate::expect::Expect;
use crate::harness::{Env, bin, env, stdout_of};

/// How long any one expected output may take.
const PATIENCE: Duration = Duration::from_secs(20);

/// `mydocker` started on the slave side of a pseudo-terminal made by the
/// test, as its controlling terminal; the test holds the master.
struct Terminal {
    master: OwnedFd,
    /// Kept open, so its modes can be read once `run` has exited.
    slave: OwnedFd,
    child: Child,
    output: Arc<Mutex<Vec<u8>>>,
    /// How much of `output` the expectations have consumed.
    seen: usize,
    stop: Arc<AtomicBool>,
    reader: Option<std::thread::JoinHandle<()>>,
    before: Termios,
}

fn winsize(rows: u16, cols: u16) -> Winsize {
    Winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    }
}

impl Terminal {
    /// Start `mydocker ARGS...` on a new terminal of `rows` x `cols`.
    #[allow(unsafe_code)]
    fn spawn(args: &[String], rows: u16, cols: u16) -> Terminal {
        let pty = openpty(Some(&winsize(rows, cols)), None).expect("openpty");
        let before = tcgetattr(&pty.slave).expect("tcgetattr");
        let io = |fd: &OwnedFd| Stdio::from(fd.try_clone().expect("dup the slave"));
        let mut cmd = Command::new(bin());
        cmd.args(args)
            .stdin(io(&pty.slave))
            .stdout(io(&pty.slave))
            .stderr(io(&pty.slave));
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                nix::unistd::setsid()?;
                if libc::ioctl(0, libc::TIOCSCTTY, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().expect("start mydocker on the terminal");
        let output = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let reader = {
            let master = pty.master.try_clone().expect("dup the master");
            let (output, stop) = (output.clone(), stop.clone());
            std::thread::spawn(move || read_until_stopped(master, &output, &stop))
        };
        Terminal {
            master: pty.master,
            slave: pty.slave,
            child,
            output,
            seen: 0,
            stop,
            reader: Some(reader),
            before,
        }
    }

    /// Type `bytes` on the terminal.
    fn send(&self, bytes: &[u8]) {
        let mut rest = bytes;
        while !rest.is_empty() {
            let n = nix::unistd::write(&self.master, rest).expect("write to the terminal");
            rest = &rest[n..];
        }
    }

    /// Wait until `text` shows after what was already seen; what comes
    /// before it (and it) is consumed.
    #[track_caller]
    fn expect(&mut self, text: &str) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            {
                let out = self.output.lock().unwrap();
                let shown = String::from_utf8_lossy(&out[self.seen..]).into_owned();
                if let Some(at) = shown.find(text) {
                    self.seen += shown[..at + text.len()].len();
                    return;
                }
                if Instant::now() > deadline {
                    drop(out);
                    self.kill();
                    panic!(
                        "{text:?} did not show within {PATIENCE:?}; the terminal shows {shown:?}"
                    );
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Change the terminal's size, as a terminal emulator does when its
    /// window is resized (the kernel sends SIGWINCH to `run`).
    fn resize(&self, rows: u16, cols: u16) {
        let ws = winsize(rows, cols);
        // SAFETY: TIOCSWINSZ reads a winsize from the valid pointer.
        #[allow(unsafe_code)]
        let r = unsafe { libc::ioctl(self.master.as_raw_fd(), libc::TIOCSWINSZ, &ws) };
        assert_eq!(r, 0, "resize the test's terminal");
    }

    /// Wait for `mydocker` to exit.
    #[track_caller]
    fn wait(&mut self) -> ExitStatus {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for mydocker") {
                return status;
            }
            if Instant::now() > deadline {
                self.kill();
                panic!("mydocker did not exit within {PATIENCE:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The terminal's modes now, compared with those before `run`.
    fn modes_unchanged(&self) -> bool {
        let now = tcgetattr(self.slave.as_fd()).expect("tcgetattr");
        let b = &self.before;
        (
            b.input_flags,
            b.output_flags,
            b.control_flags,
            b.local_flags,
        ) == (
            now.input_flags,
            now.output_flags,
            now.control_flags,
            now.local_flags,
        ) && b.control_chars == now.control_chars
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        self.kill();
        self.stop.store(true, Ordering::SeqCst);
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
    }
}

/// Copy what the master shows into `output` until told to stop.
fn read_until_stopped(master: OwnedFd, output: &Mutex<Vec<u8>>, stop: &AtomicBool) {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    let mut buf = [0u8; 4096];
    while !stop.load(Ordering::SeqCst) {
        let mut fds = [PollFd::new(master.as_fd(), PollFlags::POLLIN)];
        if poll(&mut fds, PollTimeout::from(100u16)).unwrap_or(0) == 0 {
            continue;
        }
        match nix::unistd::read(&master, &mut buf) {
            Ok(n @ 1..) => output.lock().unwrap().extend_from_slice(&buf[..n]),
            _ => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// A shell in `run -it`: its terminal is the container's own `/dev/pts/0`
/// at the caller's size, a resize reaches it, ctrl-c interrupts its
/// foreground job and not the shell, `exit 3` ends `run` with 3, and the
/// caller's terminal modes are as they were.
#[rstest]
fn a_shell_in_run_it_has_a_terminal_of_its_own(env: Env) {
    let mut t = Terminal::spawn(&env.run_args(&["-it"], &["sh"]), 33, 101);
    t.send(b"tty\r");
    t.expect("/dev/pts/0");
    t.send(b"stty size\r");
    t.expect("33 101");
    t.resize(40, 120);
    // Give the SIGWINCH a moment to travel through `run`.
    std::thread::sleep(Duration::from_millis(300));
    t.send(b"stty size\r");
    t.expect("40 120");
    t.send(b"sleep 100\r");
    std::thread::sleep(Duration::from_millis(500));
    t.send(b"\x03");
    t.send(b"echo after-$((40+2))\r");
    t.expect("after-42");
    t.send(b"exit 3\r");
    assert_eq!(t.wait().code(), Some(3));
    assert!(
        t.modes_unchanged(),
        "run left the caller's terminal changed"
    );
}

/// Full-screen programs see the terminal: `top -n 1` draws (it refuses
/// without a terminal), and `/dev/console` is the container's terminal.
#[rstest]
fn full_screen_programs_and_the_console_see_the_terminal(env: Env) {
    let mut t = Terminal::spawn(
        &env.run_args(
            &["-it"],
            &[
                "sh",
                "-c",
                "top -n 1 && readlink -f /proc/self/fd/0 && stat -c 'console %t' /dev/console",
            ],
        ),
        30,
        90,
    );
    t.expect("Mem:");
    t.expect("/dev/pts/0");
    // The devpts major number (136) in hexadecimal.
    t.expect("console 88");
    assert_eq!(t.wait().code(), Some(0));
    assert!(
        t.modes_unchanged(),
        "run left the caller's terminal changed"
    );
}

/// A signal sent to `run -it` goes to the container (here its shell
/// traps it and exits 9), and the caller's terminal modes are put back on
/// that way out too.
#[rstest]
fn a_signal_to_run_it_is_passed_on_and_the_modes_come_back(env: Env) {
    let script = "trap 'exit 9' TERM; echo trapping; while :; do sleep 0.1; done";
    let mut t = Terminal::spawn(&env.run_args(&["-it"], &["sh", "-c", script]), 24, 80);
    t.expect("trapping");
    let pid = nix::unistd::Pid::from_raw(t.child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    assert_eq!(t.wait().code(), Some(9));
    assert!(
        t.modes_unchanged(),
        "run left the caller's terminal changed"
    );
}

/// `-t` without `-i`: the program has its terminal, but what the caller
/// types does not reach it (and the caller's terminal stays cooked).
#[rstest]
fn run_t_without_i_does_not_pass_typed_input_on(env: Env) {
    let script = "tty; read -t 2 x; echo got-[$x]";
    let mut t = Terminal::spawn(&env.run_args(&["-t"], &["sh", "-c", script]), 24, 80);
    t.expect("/dev/pts/0");
    t.send(b"typed\r");
    t.expect("got-[]");
    assert_eq!(t.wait().code(), Some(0));
    assert!(t.modes_unchanged(), "run changed the caller's terminal");
}

/// `exec -it` makes its terminal in the container's devpts too.
#[rstest]
fn exec_it_gets_a_terminal_in_the_container(env: Env) {
    let name = format!("tty-exec-{}", env.tag);
    env.run_d(&["--name", &name], &["sleep", "100"]);
    let mut args = vec!["--root".to_string(), env.root.display().to_string()];
    args.extend(["exec", "-it", &name, "sh"].map(String::from));
    let mut t = Terminal::spawn(&args, 27, 99);
    t.send(b"tty; stty size\r");
    t.expect("/dev/pts/");
    t.expect("27 99");
    t.send(b"exit 5\r");
    assert_eq!(t.wait().code(), Some(5));
    assert!(
        t.modes_unchanged(),
        "exec left the caller's terminal changed"
    );
    env.md().args(["rm", "-f", &name]).assert().success();
}

/// `-t` without a terminal on the caller's side: the program still has
/// one (its output comes through it, with its `\r\n`).
#[rstest]
fn run_t_gives_a_terminal_even_to_a_caller_without_one(env: Env) {
    let out = env.run(&["-t"], &["tty"]).output().unwrap();
    assert_eq!(stdout_of(&out), "/dev/pts/0\r\n", "{out:?}");
    assert!(out.status.success());
}

/// `command` with `input` on its stdin.
fn with_stdin(mut command: assert_cmd::Command, input: &str) -> assert_cmd::Command {
    command.write_stdin(input.to_string());
    command
}

/// `-i` without `-t` hands over stdin, to its end of file.
#[rstest]
fn run_i_reads_the_callers_stdin(env: Env) {
    Expect::new(with_stdin(env.run(&["-i"], &["cat"]), "hello\n"))
        .stdout("hello\n")
        .run();
}

/// Without `-i` the program's stdin is `/dev/null`, as Docker's: `cat`
/// ends at once and reads nothing of the caller's.
#[rstest]
fn without_i_stdin_is_dev_null(env: Env) {
    Expect::new(with_stdin(env.run(&[], &["cat"]), "hello\n")).run();
    Expect::new(env.run(&[], &["readlink", "/proc/self/fd/0"]))
        .stdout("/dev/null\n")
        .run();
}

/// `-it` when stdin is not a terminal is refused before anything is made.
#[rstest]
fn run_it_without_a_terminal_is_refused(env: Env) {
    Expect::new(with_stdin(env.run(&["-it"], &["true"]), "x"))
        .status(125)
        .stderr_has("the input device is not a TTY")
        .run();
}

/// The arguments of `mydocker --root ROOT ARGS...`.
fn md_args(env: &Env, args: &[&str]) -> Vec<String> {
    let mut v = vec!["--root".to_string(), env.root.display().to_string()];
    v.extend(args.iter().map(|s| s.to_string()));
    v
}

/// `run -d -t`: the monitor holds the terminal, logs what the program
/// writes to it, and `attach` reaches it; `attach` ends with the
/// container, with its exit code, and puts the caller's modes back.
#[rstest]
fn attach_reaches_the_terminal_of_a_detached_container(env: Env) {
    let name = format!("tty-attach-{}", env.tag);
    env.run_d(
        &["-t", "--name", &name],
        &["sh", "-c", "tty; echo ready; read x; echo got-$x; exit 7"],
    );
    let log = env.wait_log(&name, "ready");
    assert!(log.contains("/dev/pts/0\r\n"), "{log:?}");
    let mut t = Terminal::spawn(&md_args(&env, &["attach", &name]), 24, 80);
    t.send(b"hello\r");
    t.expect("got-hello");
    assert_eq!(t.wait().code(), Some(7));
    assert!(
        t.modes_unchanged(),
        "attach left the caller's terminal changed"
    );
    assert_eq!(env.wait_exited(&name).exit_code, Some(7));
    env.md().args(["rm", &name]).assert().success();
}

/// ctrl-p ctrl-q detaches `attach` (exit 1, as Docker's) and leaves the
/// container running; a new `attach` finds it again, at its own size.
#[rstest]
fn ctrl_p_ctrl_q_detaches_and_the_container_runs_on(env: Env) {
    let name = format!("tty-detach-{}", env.tag);
    env.run_d(&["-t", "--name", &name], &["sh"]);
    let mut t = Terminal::spawn(&md_args(&env, &["attach", &name]), 24, 80);
    t.send(b"echo $((6*7))\r");
    t.expect("42");
    t.send(b"\x10\x11");
    assert_eq!(t.wait().code(), Some(1));
    t.expect("read escape sequence");
    assert!(
        t.modes_unchanged(),
        "attach left the caller's terminal changed"
    );
    assert!(
        env.state(&name).is_alive(),
        "detaching stopped the container"
    );
    drop(t);
    let mut t = Terminal::spawn(&md_args(&env, &["attach", &name]), 31, 77);
    t.send(b"stty size\r");
    t.expect("31 77");
    t.send(b"exit 4\r");
    assert_eq!(t.wait().code(), Some(4));
    env.wait_exited(&name);
    env.md().args(["rm", &name]).assert().success();
}

/// A container started without `-t` has no terminal to attach to.
#[rstest]
fn attach_needs_a_container_started_with_t(env: Env) {
    let name = format!("tty-none-{}", env.tag);
    env.run_d(&["--name", &name], &["sleep", "100"]);
    let mut t = Terminal::spawn(&md_args(&env, &["attach", &name]), 24, 80);
    t.expect("has no terminal");
    assert_eq!(t.wait().code(), Some(125));
    env.md().args(["rm", "-f", &name]).assert().success();
}

/// `logs -f` of a container with a terminal shows its last words: they
/// pass through the monitor, which may read them only after the process is
/// gone. Here the monitor is held stopped over that moment: `logs -f` must
/// wait for it to record the exit (it logs everything first), not stop at
/// the process's death.
#[rstest]
fn logs_f_waits_for_the_monitor_to_log_a_terminals_last_words(env: Env) {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    let name = format!("tty-last-{}", env.tag);
    env.run_d(
        &["-t", "--name", &name],
        &["sh", "-c", "read -t 1 x; echo last words"],
    );
    let pid = env.state(&name).pid.expect("a running container has a PID");
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after_name = &stat[stat.rfind(')').unwrap() + 2..];
    let monitor: i32 = after_name.split(' ').nth(1).unwrap().parse().unwrap();
    kill(Pid::from_raw(monitor), Signal::SIGSTOP).unwrap();
    // Whatever happens below, the monitor goes on in the end.
    struct Resume(Pid);
    impl Drop for Resume {
        fn drop(&mut self) {
            let _ = kill(self.0, Signal::SIGCONT);
        }
    }
    let resume = Resume(Pid::from_raw(monitor));
    let mut logs = env.md();
    logs.args(["logs", "-f", &name]).timeout(PATIENCE);
    let follow = std::thread::spawn(move || logs.output());
    // The container exits (a zombie: its stopped monitor cannot reap it),
    // its last words still in the terminal.
    crate::harness::wait_for("the container to exit", || {
        (!env.state(&name).is_alive()).then_some(())
    });
    std::thread::sleep(Duration::from_millis(300));
    drop(resume);
    let out = follow.join().unwrap().expect("logs -f");
    assert_eq!(stdout_of(&out), "last words\r\n", "{out:?}");
    env.wait_exited(&name);
    env.md().args(["rm", &name]).assert().success();
}

/// A program that cannot start says so on its terminal, and `run -t`
/// exits 127 or 126 as without one.
#[rstest]
fn run_t_reports_a_program_that_cannot_start(env: Env) {
    Expect::new(env.run(&["-t"], &["nonexistent"]))
        .status(127)
        .stdout_has("executable file not found")
        .run();
    Expect::new(env.run(&["-t"], &["/etc"]))
        .status(126)
        .stdout_has("is a directory")
        .run();
}
