//! Resources that give themselves back (step 05, used by `run` from step
//! 15): starting a container acquires several things in turn (a cgroup,
//! its recorded state, its layers and volumes, the process), and any step
//! may fail. Rather than undoing by hand at each early return, each thing
//! is held in a [`Guard`] as soon as it exists: when the guard is dropped,
//! on an error or at the end of a foreground container, it is undone;
//! [`Guard::keep`] takes it out of the guard for good, as `run -d` does once
//! the monitor owns the container. Guards are dropped in the reverse order
//! of their making, so the last thing made is the first undone.

use std::ops::Deref;

/// A value with the action that undoes it, run on drop unless kept.
pub struct Guard<'a, T> {
    value: Option<T>,
    undo: Option<Box<dyn FnOnce(T) + 'a>>,
}

impl<'a, T> Guard<'a, T> {
    /// Hold `value`; `undo` gives it back unless [`Guard::keep`] is called.
    pub fn new(value: T, undo: impl FnOnce(T) + 'a) -> Guard<'a, T> {
        Guard {
            value: Some(value),
            undo: Some(Box::new(undo)),
        }
    }

    /// Keep the value: nothing is undone.
    pub fn keep(mut self) -> T {
        self.undo = None;
        self.value
            .take()
            .expect("a guard holds its value until dropped")
    }
}

impl<T> Deref for Guard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.value
            .as_ref()
            .expect("a guard holds its value until dropped")
    }
}

impl<T> Drop for Guard<'_, T> {
    fn drop(&mut self) {
        if let (Some(value), Some(undo)) = (self.value.take(), self.undo.take()) {
            undo(value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    #[test]
    fn guards_undo_in_reverse_order_unless_kept() {
        let undone = RefCell::new(Vec::new());
        {
            let _a = Guard::new("cgroup", |v| undone.borrow_mut().push(v));
            let b = Guard::new("state", |v| undone.borrow_mut().push(v));
            let _c = Guard::new("layers", |v| undone.borrow_mut().push(v));
            assert_eq!(*b, "state");
            assert_eq!(b.keep(), "state");
        }
        assert_eq!(*undone.borrow(), ["layers", "cgroup"]);
    }
}
