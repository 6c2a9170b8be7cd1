//! A pickle opcode walker that finds every global a pickle imports, in every form: `GLOBAL`
//! (`c`), `INST` (`i`), protocol-4 `STACK_GLOBAL` (whose module and name are strings pushed
//! earlier, possibly through the memo) and the copyreg extension codes (`EXT1/2/4`).
//!
//! It knows the argument layout and stack effect of every opcode of protocols 0 to 5 but keeps
//! only strings on its model of the stack; it never builds objects and never runs anything.
//! candle's reader knows only the opcodes a protocol-2 `torch.save` uses and reports the others
//! as "unknown op-code", so without this walk a `STACK_GLOBAL` or `INST` import would be refused
//! without saying what it imports.

use std::collections::HashMap;

/// One stack entry: a string (a possible `STACK_GLOBAL` operand), anything else, or a mark.
#[derive(Clone, Debug, PartialEq)]
enum Item {
    Str(String),
    Other,
    Mark,
}

/// Bounds-checked reads over the pickle bytes.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, num_bytes: usize) -> Result<&'a [u8], String> {
        let end = self
            .pos
            .checked_add(num_bytes)
            .filter(|&end| end <= self.bytes.len())
            .ok_or_else(|| format!("malformed pickle: truncated at byte {}", self.pos))?;
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn le_uint(&mut self, num_bytes: usize) -> Result<u64, String> {
        let raw = self.take(num_bytes)?;
        Ok(raw
            .iter()
            .rev()
            .fold(0_u64, |acc, &b| (acc << 8) | u64::from(b)))
    }

    /// A length prefix of `num_bytes` bytes followed by that many bytes.
    fn counted(&mut self, num_bytes: usize) -> Result<&'a [u8], String> {
        let len = self.le_uint(num_bytes)?;
        let len = usize::try_from(len).map_err(|_| "malformed pickle: huge length".to_owned())?;
        self.take(len)
    }

    /// Text up to the next newline (protocol-0 arguments).
    fn line(&mut self) -> Result<String, String> {
        let rest = &self.bytes[self.pos..];
        let len = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or_else(|| format!("malformed pickle: unterminated line at byte {}", self.pos))?;
        self.pos += len + 1;
        Ok(String::from_utf8_lossy(&rest[..len]).into_owned())
    }
}

/// The walker's state: a stack of [`Item`]s and the memo.
struct Walk {
    stack: Vec<Item>,
    memo: HashMap<u64, Item>,
}

impl Walk {
    fn pop(&mut self, at: usize) -> Result<Item, String> {
        self.stack
            .pop()
            .ok_or_else(|| format!("malformed pickle: stack underflow at byte {at}"))
    }

    fn pop_n(&mut self, num_items: usize, at: usize) -> Result<(), String> {
        for _ in 0..num_items {
            self.pop(at)?;
        }
        Ok(())
    }

    fn pop_mark(&mut self, at: usize) -> Result<Vec<Item>, String> {
        let mark_idx = self
            .stack
            .iter()
            .rposition(|item| *item == Item::Mark)
            .ok_or_else(|| format!("malformed pickle: no mark for the opcode at byte {at}"))?;
        let mut items = self.stack.split_off(mark_idx);
        items.remove(0);
        Ok(items)
    }

    fn top(&self, at: usize) -> Result<Item, String> {
        self.stack
            .last()
            .cloned()
            .ok_or_else(|| format!("malformed pickle: empty stack at byte {at}"))
    }
}

/// Walks `bytes` to its `STOP` opcode and calls `check(module, name)` for every global it
/// imports; the first `Err` from `check` (or a malformed pickle) ends the walk.
pub(super) fn for_each_global(
    bytes: &[u8],
    mut check: impl FnMut(&str, &str) -> Result<(), String>,
) -> Result<(), String> {
    let mut cur = Cursor { bytes, pos: 0 };
    let mut walk = Walk {
        stack: Vec::new(),
        memo: HashMap::new(),
    };
    loop {
        let at = cur.pos;
        let op = cur.take(1)?[0];
        let push_str = |walk: &mut Walk, raw: &[u8]| {
            walk.stack
                .push(Item::Str(String::from_utf8_lossy(raw).into_owned()));
        };
        match op {
            b'.' => return Ok(()),
            0x80 => _ = cur.take(1)?, // PROTO
            0x95 => _ = cur.take(8)?, // FRAME
            b'(' => walk.stack.push(Item::Mark),
            b'0' => _ = walk.pop(at)?,              // POP
            b'1' => _ = walk.pop_mark(at)?,         // POP_MARK
            b'2' => walk.stack.push(walk.top(at)?), // DUP
            // Numbers, None, booleans, persistent ids, bytes, buffers: opaque values.
            b'F' | b'I' | b'L' | b'P' => {
                cur.line()?;
                walk.stack.push(Item::Other);
            }
            b'J' => _ = (cur.take(4)?, walk.stack.push(Item::Other)),
            b'K' => _ = (cur.take(1)?, walk.stack.push(Item::Other)),
            b'M' => _ = (cur.take(2)?, walk.stack.push(Item::Other)),
            b'G' => _ = (cur.take(8)?, walk.stack.push(Item::Other)),
            0x8a => _ = (cur.counted(1)?, walk.stack.push(Item::Other)), // LONG1
            0x8b => _ = (cur.counted(4)?, walk.stack.push(Item::Other)), // LONG4
            b'B' => _ = (cur.counted(4)?, walk.stack.push(Item::Other)), // BINBYTES
            b'C' => _ = (cur.counted(1)?, walk.stack.push(Item::Other)), // SHORT_BINBYTES
            0x8e | 0x96 => _ = (cur.counted(8)?, walk.stack.push(Item::Other)), // BINBYTES8, BYTEARRAY8
            b'N' | 0x88 | 0x89 | 0x97 => walk.stack.push(Item::Other), // NONE, TRUE, FALSE, NEXT_BUFFER
            0x98 => {}                                                 // READONLY_BUFFER
            b'Q' => _ = (walk.pop(at)?, walk.stack.push(Item::Other)), // BINPERSID
            // Strings: what STACK_GLOBAL takes its module and name from.
            b'S' => {
                let text = cur.line()?;
                let quoted = text.trim_matches(|c| c == '\'' || c == '"');
                walk.stack.push(Item::Str(quoted.to_owned()));
            }
            b'V' => {
                let text = cur.line()?;
                walk.stack.push(Item::Str(text));
            }
            b'T' | b'X' => push_str(&mut walk, cur.counted(4)?),
            b'U' | 0x8c => push_str(&mut walk, cur.counted(1)?),
            0x8d => push_str(&mut walk, cur.counted(8)?), // BINUNICODE8
            // Containers.
            b']' | b')' | b'}' | 0x8f => walk.stack.push(Item::Other),
            b'a' => _ = walk.pop(at)?,                    // APPEND
            b's' => walk.pop_n(2, at)?,                   // SETITEM
            b'e' | b'u' | 0x90 => _ = walk.pop_mark(at)?, // APPENDS, SETITEMS, ADDITEMS
            b'l' | b't' | b'd' | 0x91 => {
                walk.pop_mark(at)?;
                walk.stack.push(Item::Other);
            }
            0x85..=0x87 => {
                walk.pop_n(usize::from(op - 0x84), at)?; // TUPLE1..3
                walk.stack.push(Item::Other);
            }
            // Memo.
            b'g' | b'h' | b'j' => {
                let idx = match op {
                    b'g' => parse_index(&cur.line()?, at)?,
                    b'h' => cur.le_uint(1)?,
                    _ => cur.le_uint(4)?,
                };
                let item = walk.memo.get(&idx).cloned().ok_or_else(|| {
                    format!("malformed pickle: memo {idx} read before written (byte {at})")
                })?;
                walk.stack.push(item);
            }
            b'p' | b'q' | b'r' => {
                let idx = match op {
                    b'p' => parse_index(&cur.line()?, at)?,
                    b'q' => cur.le_uint(1)?,
                    _ => cur.le_uint(4)?,
                };
                let top = walk.top(at)?;
                walk.memo.insert(idx, top);
            }
            0x94 => {
                // MEMOIZE
                let top = walk.top(at)?;
                walk.memo.insert(walk.memo.len() as u64, top);
            }
            // Imports.
            b'c' => {
                let (module, name) = (cur.line()?, cur.line()?);
                check(&module, &name)?;
                walk.stack.push(Item::Other);
            }
            b'i' => {
                let (module, name) = (cur.line()?, cur.line()?);
                check(&module, &name)?;
                walk.pop_mark(at)?;
                walk.stack.push(Item::Other);
            }
            0x93 => {
                let name = walk.pop(at)?;
                let module = walk.pop(at)?;
                let (Item::Str(module), Item::Str(name)) = (module, name) else {
                    return Err(format!(
                        "refusing pickle STACK_GLOBAL at byte {at} whose module or name is not a \
                         plain string"
                    ));
                };
                check(&module, &name)?;
                walk.stack.push(Item::Other);
            }
            0x82..=0x84 => {
                let code = cur.le_uint(match op {
                    0x82 => 1,
                    0x83 => 2,
                    _ => 4,
                })?;
                return Err(format!(
                    "refusing pickle extension-registry global (EXT code {code}): a weights file \
                     never needs one"
                ));
            }
            // Calls and object building.
            b'R' | 0x81 => {
                walk.pop_n(2, at)?; // REDUCE, NEWOBJ
                walk.stack.push(Item::Other);
            }
            0x92 => {
                walk.pop_n(3, at)?; // NEWOBJ_EX
                walk.stack.push(Item::Other);
            }
            b'b' => _ = walk.pop(at)?, // BUILD
            b'o' => {
                walk.pop_mark(at)?; // OBJ
                walk.stack.push(Item::Other);
            }
            _ => {
                return Err(format!(
                    "malformed pickle: unknown opcode 0x{op:02x} at byte {at}"
                ));
            }
        }
    }
}

fn parse_index(text: &str, at: usize) -> Result<u64, String> {
    text.trim()
        .parse()
        .map_err(|_| format!("malformed pickle: bad memo index {text:?} at byte {at}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unicode(p: &mut Vec<u8>, s: &str) {
        p.push(b'X');
        p.extend_from_slice(&(s.len() as u32).to_le_bytes());
        p.extend_from_slice(s.as_bytes());
    }

    fn globals(bytes: &[u8]) -> Result<Vec<String>, String> {
        let mut seen = Vec::new();
        for_each_global(bytes, |m, n| {
            seen.push(format!("{m}.{n}"));
            Ok(())
        })?;
        Ok(seen)
    }

    #[test]
    fn finds_global_inst_and_stack_global_through_the_memo() {
        let mut p = vec![0x80, 4, 0x95, 0, 0, 0, 0, 0, 0, 0, 0];
        p.extend_from_slice(b"cos\nsystem\n");
        p.push(b'(');
        p.extend_from_slice(b"iposix\nsystem\n");
        p.extend_from_slice(&[0x8c, 2, b'n', b't', 0x94]);
        unicode(&mut p, "getattr");
        p.push(0x94);
        p.extend_from_slice(&[b'h', 0, b'h', 1, 0x93]);
        p.extend_from_slice(b"0");
        p.extend_from_slice(b"0000.");
        assert_eq!(
            globals(&p).unwrap(),
            ["os.system", "posix.system", "nt.getattr"]
        );
    }

    #[test]
    fn refuses_ext_codes_computed_names_and_truncation() {
        assert!(
            globals(&[0x80, 2, 0x82, 7, b'.'])
                .unwrap_err()
                .contains("EXT code 7")
        );
        let computed = [b'K', 1, b'K', 2, 0x93, b'.'];
        assert!(
            globals(&computed)
                .unwrap_err()
                .contains("not a plain string")
        );
        assert!(globals(b"cos\nsys").unwrap_err().contains("unterminated"));
        assert!(globals(&[0x93]).unwrap_err().contains("underflow"));
        assert!(
            globals(&[0xff])
                .unwrap_err()
                .contains("unknown opcode 0xff")
        );
    }

    /// `pickle.dumps({"w": <os.system call>, "od": OrderedDict(a=[1.5, b"x", None, True])})`
    /// from CPython 3, protocols 2 and 4 (FRAME, SHORT_BINUNICODE, MEMOIZE, STACK_GLOBAL).
    #[test]
    fn walks_cpython_pickles_of_protocols_2_and_4() {
        const PROTOCOL_2: &[u8] = b"\x80\x02}q\x00(X\x01\x00\x00\x00wq\x01cposix\x0asystem\x0aq\x02X\x07\x00\x00\x00touch xq\x03\x85q\x04Rq\x05X\x02\x00\x00\x00odq\x06ccollections\x0aOrderedDict\x0aq\x07)Rq\x08X\x01\x00\x00\x00aq\x09]q\x0a(G?\xf8\x00\x00\x00\x00\x00\x00c_codecs\x0aencode\x0aq\x0bX\x01\x00\x00\x00xq\x0cX\x06\x00\x00\x00latin1q\x0d\x86q\x0eRq\x0fN\x88esu.";
        const PROTOCOL_4: &[u8] = b"\x80\x04\x95h\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x01w\x94\x8c\x05posix\x94\x8c\x06system\x94\x93\x94\x8c\x07touch x\x94\x85\x94R\x94\x8c\x02od\x94\x8c\x0bcollections\x94\x8c\x0bOrderedDict\x94\x93\x94)R\x94\x8c\x01a\x94]\x94(G?\xf8\x00\x00\x00\x00\x00\x00C\x01x\x94N\x88esu.";
        for bytes in [PROTOCOL_2, PROTOCOL_4] {
            assert_eq!(
                globals(bytes).unwrap(),
                ["posix.system", "collections.OrderedDict", "_codecs.encode"]
                    [..if bytes[1] == 2 { 3 } else { 2 }]
            );
        }
    }
}
