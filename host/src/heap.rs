//! The app heap: a region of the module's linear memory that the host reserves at start and
//! copies each tag and record into, as WAMR does for `Wasm_Heap_Size`. First-fit free list.

/// Allocations are rounded to this, like WAMR's allocator.
const ALIGN: u32 = 8;

#[derive(Debug, Clone)]
pub struct AppHeap {
    base: u32,
    size: u32,
    /// Free blocks as (offset from base, length), sorted by offset, never adjacent.
    free: Vec<(u32, u32)>,
}

impl AppHeap {
    pub fn new(base: u32, size: u32) -> Self {
        let size = size / ALIGN * ALIGN;
        Self {
            base,
            size,
            free: if size > 0 { vec![(0, size)] } else { vec![] },
        }
    }

    pub fn base(&self) -> u32 {
        self.base
    }

    pub fn size(&self) -> u32 {
        self.size
    }

    /// Bytes currently free (for tests: everything is returned after each call).
    pub fn free_bytes(&self) -> u32 {
        self.free.iter().map(|&(_, len)| len).sum()
    }

    /// Reserves `len` bytes; returns the absolute address, or `None` when no block fits.
    pub fn alloc(&mut self, len: usize) -> Option<(u32, u32)> {
        let want = u32::try_from(len).ok()?.max(1).checked_add(ALIGN - 1)? / ALIGN * ALIGN;
        let index = self.free.iter().position(|&(_, free)| free >= want)?;
        let (offset, free) = self.free[index];
        if free == want {
            self.free.remove(index);
        } else {
            self.free[index] = (offset + want, free - want);
        }
        Some((self.base + offset, want))
    }

    /// Returns a block obtained from `alloc` (address and rounded length).
    pub fn release(&mut self, (addr, len): (u32, u32)) {
        let offset = addr - self.base;
        let index = self.free.partition_point(|&(o, _)| o < offset);
        self.free.insert(index, (offset, len));
        // Merge with the following block, then with the preceding one.
        if index + 1 < self.free.len() {
            let (next_offset, next_len) = self.free[index + 1];
            if offset + len == next_offset {
                self.free[index].1 += next_len;
                self.free.remove(index + 1);
            }
        }
        if index > 0 {
            let (prev_offset, prev_len) = self.free[index - 1];
            if prev_offset + prev_len == offset {
                self.free[index - 1].1 += self.free[index].1;
                self.free.remove(index);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_fit_reuses_and_merges_freed_blocks() {
        let mut heap = AppHeap::new(1000, 64);
        let a = heap.alloc(10).unwrap();
        let b = heap.alloc(20).unwrap();
        assert_eq!(a, (1000, 16));
        assert_eq!(b, (1016, 24));
        assert!(heap.alloc(40).is_none(), "only 24 bytes left");
        heap.release(a);
        assert_eq!(heap.alloc(3).unwrap(), (1000, 8));
        heap.release((1000, 8));
        heap.release(b);
        assert_eq!(heap.free_bytes(), 64);
        assert_eq!(
            heap.alloc(64).unwrap(),
            (1000, 64),
            "blocks merged back into one"
        );
    }

    #[test]
    fn record_larger_than_heap_does_not_fit() {
        let mut heap = AppHeap::new(0, 8192);
        assert!(heap.alloc(8193).is_none());
        assert!(heap.alloc(8192).is_some());
    }
}
