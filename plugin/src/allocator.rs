//! The module's memory allocator: freed small blocks are kept in one list per power-of-two
//! size and handed out again, so after warm-up an allocation is a list pop and a free a
//! push. In Fluent Bit's interpreter a `malloc` + `free` pair of wasi-libc's allocator costs
//! about as much as scanning a few hundred bytes of log text, and the filter makes several
//! per record; large blocks (over `MAX_CLASS` bytes: long traces, huge lines) still go to
//! the system allocator, which can reuse their memory for anything.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::UnsafeCell;
use std::ptr;

/// Smallest block: room for the free-list link, and the alignment every class keeps.
const MIN_CLASS: usize = 16;
/// Largest block kept in a list. Memory in the lists is never given back, so it is
/// bounded by the most small blocks ever live at once, not by the largest record.
pub const MAX_CLASS: usize = 8192;
const CLASSES: usize = (MAX_CLASS / MIN_CLASS).trailing_zeros() as usize + 1;

/// The class of the sizes `16 * i + 1 ..= 16 * (i + 1)`: the `c` whose `MIN_CLASS << c` is
/// the smallest class that holds them.
const CLASS_OF: [u8; MAX_CLASS / MIN_CLASS] = {
    let mut table = [0u8; MAX_CLASS / MIN_CLASS];
    let mut i = 0;
    while i < table.len() {
        let mut c = 0;
        while (1usize << c) < i + 1 {
            c += 1;
        }
        table[i] = c as u8;
        i += 1;
    }
    table
};

pub struct SizeClasses {
    /// Head of each class's list of free blocks; a free block's first word links to the
    /// next one.
    free: UnsafeCell<[*mut u8; CLASSES]>,
}

// SAFETY: the module runs on one thread (WASI preview 1 has no threads), and the native
// tests use their own instance from one thread.
unsafe impl Sync for SizeClasses {}

impl SizeClasses {
    pub const fn new() -> Self {
        Self {
            free: UnsafeCell::new([ptr::null_mut(); CLASSES]),
        }
    }

    /// The class of a layout, or `None` when it is left to the system allocator.
    #[inline(always)]
    fn class_of(layout: Layout) -> Option<usize> {
        if layout.size() > MAX_CLASS || layout.align() > MIN_CLASS {
            return None;
        }
        // A table, not `next_power_of_two` and `trailing_zeros`: WAMR's interpreter counts
        // leading and trailing zeros bit by bit, and every allocation asks this.
        let size = layout.size().max(MIN_CLASS);
        Some(usize::from(CLASS_OF[(size - 1) / MIN_CLASS]))
    }

    fn class_layout(class: usize) -> Layout {
        // MIN_CLASS << class is a power of two no larger than MAX_CLASS.
        Layout::from_size_align(MIN_CLASS << class, MIN_CLASS).unwrap_or(Layout::new::<u8>())
    }
}

impl Default for SizeClasses {
    fn default() -> Self {
        Self::new()
    }
}

unsafe impl GlobalAlloc for SizeClasses {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let Some(class) = Self::class_of(layout) else {
            // SAFETY: forwarded as the caller gave it.
            return unsafe { System.alloc(layout) };
        };
        // SAFETY: single-threaded (see `Sync`); no reference to the array outlives this call.
        let free = unsafe { &mut *self.free.get() };
        let head = free[class];
        if head.is_null() {
            // SAFETY: a valid, non-zero-sized layout.
            return unsafe { System.alloc(Self::class_layout(class)) };
        }
        // SAFETY: `head` is a free block of this class; its first word is the next link.
        free[class] = unsafe { head.cast::<*mut u8>().read() };
        head
    }

    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        let Some(class) = Self::class_of(layout) else {
            // SAFETY: the block came from `System.alloc` with this layout (see `alloc`).
            return unsafe { System.dealloc(block, layout) };
        };
        // SAFETY: single-threaded; the block is at least MIN_CLASS bytes and aligned to
        // MIN_CLASS, so it holds the link.
        let free = unsafe { &mut *self.free.get() };
        unsafe { block.cast::<*mut u8>().write(free[class]) };
        free[class] = block;
    }

    unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller guarantees `layout.align()` with `new_size` is a valid layout.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        match (Self::class_of(layout), Self::class_of(new_layout)) {
            // Still fits its block.
            (Some(a), Some(b)) if a == b => block,
            // Both large: the system allocator may grow in place.
            // SAFETY: forwarded as the caller gave it.
            (None, None) => unsafe { System.realloc(block, layout, new_size) },
            _ => {
                // SAFETY: a valid layout; copy the bytes both blocks hold, free the old one.
                let moved = unsafe { self.alloc(new_layout) };
                if !moved.is_null() {
                    unsafe {
                        ptr::copy_nonoverlapping(block, moved, layout.size().min(new_size));
                        self.dealloc(block, layout);
                    }
                }
                moved
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_are_powers_of_two_up_to_the_largest() {
        let class = |size: usize| SizeClasses::class_of(Layout::from_size_align(size, 1).unwrap());
        assert_eq!(class(1), Some(0));
        assert_eq!(class(16), Some(0));
        assert_eq!(class(17), Some(1));
        assert_eq!(class(MAX_CLASS), Some(CLASSES - 1));
        assert_eq!(class(MAX_CLASS + 1), None);
        assert_eq!(
            SizeClasses::class_of(Layout::from_size_align(8, 32).unwrap()),
            None
        );
    }

    /// Every size and alignment has the class of the smallest power of two that holds it.
    #[test]
    fn every_size_has_the_class_of_its_power_of_two() {
        for size in 0..=MAX_CLASS + 64 {
            for align in [1, 2, 8, 16, 32] {
                let layout = Layout::from_size_align(size, align).unwrap();
                let want = (size <= MAX_CLASS && align <= MIN_CLASS).then(|| {
                    let block = size.max(MIN_CLASS).next_power_of_two();
                    (block / MIN_CLASS).trailing_zeros() as usize
                });
                assert_eq!(SizeClasses::class_of(layout), want, "{size} {align}");
            }
        }
    }

    #[test]
    fn a_freed_block_is_handed_out_again_for_its_class() {
        let a = SizeClasses::new();
        let small = Layout::from_size_align(40, 8).unwrap();
        let same_class = Layout::from_size_align(64, 4).unwrap();
        unsafe {
            let p = a.alloc(small);
            assert!(!p.is_null());
            assert_eq!(p as usize % MIN_CLASS, 0);
            p.write_bytes(0xab, 40);
            a.dealloc(p, small);
            let q = a.alloc(same_class);
            assert_eq!(p, q, "the 64-byte class reuses the freed block");
            let r = a.alloc(same_class);
            assert_ne!(q, r, "a live block is never handed out twice");
            a.dealloc(q, same_class);
            a.dealloc(r, same_class);
        }
    }

    #[test]
    fn realloc_keeps_the_bytes_across_classes_and_into_large_blocks() {
        let a = SizeClasses::new();
        let mut layout = Layout::from_size_align(10, 1).unwrap();
        unsafe {
            let mut p = a.alloc(layout);
            for i in 0..10 {
                p.add(i).write(i as u8);
            }
            for new_size in [12, 16, 17, 100, 5000, MAX_CLASS + 1, 100_000, 20] {
                p = a.realloc(p, layout, new_size);
                assert!(!p.is_null());
                layout = Layout::from_size_align(new_size, 1).unwrap();
                for i in 0..10 {
                    assert_eq!(
                        p.add(i).read(),
                        i as u8,
                        "byte {i} after growing to {new_size}"
                    );
                }
            }
            a.dealloc(p, layout);
        }
    }

    #[test]
    fn large_and_overaligned_blocks_come_from_the_system() {
        let a = SizeClasses::new();
        for layout in [
            Layout::from_size_align(MAX_CLASS + 1, 8).unwrap(),
            Layout::from_size_align(64, 64).unwrap(),
        ] {
            unsafe {
                let p = a.alloc(layout);
                assert!(!p.is_null());
                assert_eq!(p as usize % layout.align(), 0);
                a.dealloc(p, layout);
            }
        }
        // Nothing of theirs entered a list.
        let free = unsafe { &*a.free.get() };
        assert!(free.iter().all(|head| head.is_null()));
    }
}
