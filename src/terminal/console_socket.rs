//! Handing a terminal's master out of the container (step 36): a unix
//! socket and `SCM_RIGHTS` (`man 7 unix`).
//!
//! The pair must be made inside, after the pivot, by the container's init;
//! the side that relays it (`run`) is outside. A descriptor can travel
//! between processes as *ancillary data* of a message on a unix socket:
//! the kernel installs a copy in the receiver, pointing at the same open
//! file. runc's `--console-socket` and containerd's shim receive the
//! master this way; so does `run` here, over a socket pair made before the
//! container is started.
//!
//! init gets its end as its standard input (a move `run` makes first, so
//! it can never land on one of the channel's descriptors), sends the master
//! just before it confines itself and `execve`s, and the program never
//! sees the socket: the slave replaces it.

use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use nix::sys::socket::{
    AddressFamily, ControlMessage, ControlMessageOwned, MsgFlags, SockFlag, SockType, recvmsg,
    sendmsg, socketpair,
};

use super::TerminalError;

/// A connected pair of unix sockets, close-on-exec: `(outside, inside)`.
pub fn pair() -> Result<(OwnedFd, OwnedFd), TerminalError> {
    socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .map_err(TerminalError::sys("create the console socket"))
}

/// Send `fd` over `socket` (one message, one byte of payload).
pub fn send(socket: BorrowedFd, fd: BorrowedFd) -> Result<(), TerminalError> {
    let fds = [fd.as_raw_fd()];
    sendmsg::<()>(
        socket.as_raw_fd(),
        &[IoSlice::new(b"m")],
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::empty(),
        None,
    )
    .map(drop)
    .map_err(TerminalError::sys(
        "send the terminal over the console socket",
    ))
}

/// Receive one descriptor from `socket`; `None` when the other side closed
/// it without sending one (init failed before making the terminal).
pub fn receive(socket: BorrowedFd) -> Result<Option<OwnedFd>, TerminalError> {
    let mut byte = [0u8; 1];
    let mut iov = [IoSliceMut::new(&mut byte)];
    let mut space = nix::cmsg_space!([std::os::fd::RawFd; 1]);
    let msg = recvmsg::<()>(
        socket.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .map_err(TerminalError::sys(
        "receive the terminal over the console socket",
    ))?;
    let cmsgs = msg
        .cmsgs()
        .map_err(TerminalError::sys("read the console socket's message"))?;
    for cmsg in cmsgs {
        if let ControlMessageOwned::ScmRights(fds) = cmsg
            && let Some(&fd) = fds.first()
        {
            // SAFETY: the kernel just installed this descriptor for us.
            #[allow(unsafe_code)]
            return Ok(Some(unsafe { OwnedFd::from_raw_fd(fd) }));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::os::fd::AsFd;

    use super::*;

    #[test]
    fn a_descriptor_sent_arrives_as_the_same_open_file() {
        let (outside, inside) = pair().unwrap();
        let (read, write) = nix::unistd::pipe().unwrap();
        send(inside.as_fd(), write.as_fd()).unwrap();
        drop(write);
        let got = receive(outside.as_fd()).unwrap().expect("a descriptor");
        std::fs::File::from(got).write_all(b"through").unwrap();
        let mut text = String::new();
        std::fs::File::from(read).read_to_string(&mut text).unwrap();
        assert_eq!(text, "through");
    }

    #[test]
    fn a_closed_socket_without_a_descriptor_reads_as_none() {
        let (outside, inside) = pair().unwrap();
        drop(inside);
        assert!(receive(outside.as_fd()).unwrap().is_none());
    }
}
