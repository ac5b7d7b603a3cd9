//! Writing a task's rows as chunks: CSV (gzip-compressed as it streams
//! when the export asks) into a buffer that is cut, at a page boundary, once
//! it holds the part size. Each chunk is a complete piece of the file: with
//! gzip, one gzip member, so the chunks joined in order are one valid
//! multi-member gzip file that decompresses to exactly the CSV.

use super::columns::{BulkColumn, CellWriter};
use super::WorkerError;
use crate::model::bulk::Compression;
use crate::model::Value;

/// The rows of one task, chunk by chunk.
pub(super) struct ChunkWriter {
    builder: csv::WriterBuilder,
    compression: Compression,
    /// Bytes each chunk's buffer starts with.
    capacity: usize,
    csv: csv::Writer<PartWriter>,
    cols: Vec<BulkColumn>,
    /// Where each column's field sits in a row.
    fields: Vec<usize>,
    cells: CellWriter,
    /// Rows in the current chunk.
    rows: u64,
    /// Whether the current chunk holds anything (a header or rows).
    dirty: bool,
    cell: String,
    record_cells: Vec<String>,
}

impl ChunkWriter {
    /// A writer for `cols`, separated by `delimiter`; column `i` writes the
    /// row's field `fields[i]`.
    pub(super) fn new(
        cols: Vec<BulkColumn>,
        fields: Vec<usize>,
        cells: CellWriter,
        delimiter: u8,
        compression: Compression,
        capacity: usize,
    ) -> Self {
        let mut builder = csv::WriterBuilder::new();
        builder
            .delimiter(delimiter)
            .terminator(csv::Terminator::CRLF);
        let csv = builder.from_writer(PartWriter::new(compression, Vec::with_capacity(capacity)));
        let record_cells = vec![String::new(); cols.len()];
        ChunkWriter {
            builder,
            compression,
            capacity,
            csv,
            cols,
            fields,
            cells,
            rows: 0,
            dirty: false,
            cell: String::new(),
            record_cells,
        }
    }

    /// Writes the header row (the file's first task only).
    ///
    /// # Errors
    /// When the CSV cannot be written.
    pub(super) fn header(&mut self) -> Result<(), WorkerError> {
        self.csv
            .write_record(self.cols.iter().map(|c| c.header.as_str()))?;
        self.dirty = true;
        Ok(())
    }

    /// Writes one row (see [`super::rows`]).
    ///
    /// # Errors
    /// When the CSV cannot be written.
    pub(super) fn row(&mut self, row: &[Value]) -> Result<(), WorkerError> {
        for ((c, &field), slot) in self
            .cols
            .iter()
            .zip(&self.fields)
            .zip(self.record_cells.iter_mut())
        {
            self.cells.write(c, &row[field], &mut self.cell);
            slot.clone_from(&self.cell);
        }
        self.csv.write_record(&self.record_cells)?;
        self.rows += 1;
        self.dirty = true;
        Ok(())
    }

    /// Bytes in the current chunk so far (compressed, with gzip; the
    /// compressor may hold a little more). The CSV writer's own buffer is
    /// flushed into the chunk first, so small chunks are measured exactly.
    ///
    /// # Errors
    /// When the CSV cannot be flushed.
    pub(super) fn len(&mut self) -> Result<usize, WorkerError> {
        self.csv.flush()?;
        Ok(self.csv.get_ref().len())
    }

    /// Whether nothing was written to the current chunk.
    pub(super) fn is_empty(&self) -> bool {
        !self.dirty
    }

    /// Ends the current chunk: its bytes (a complete gzip member with gzip)
    /// and rows; the next chunk starts empty.
    ///
    /// # Errors
    /// When the CSV or the compressor cannot be flushed.
    pub(super) fn take(&mut self) -> Result<(Vec<u8>, u64), WorkerError> {
        let fresh = self.builder.from_writer(PartWriter::new(
            self.compression,
            Vec::with_capacity(self.capacity),
        ));
        let full = std::mem::replace(&mut self.csv, fresh);
        let bytes = full
            .into_inner()
            .map_err(|e| WorkerError::Csv(csv::Error::from(e.into_error())))?
            .finish()?;
        let rows = std::mem::take(&mut self.rows);
        self.dirty = false;
        Ok((bytes, rows))
    }
}

/// Where the CSV goes: the current part's bytes, written as they come or
/// gzip-compressed as they stream (one compressor for the whole file, so
/// the parts join into one gzip member).
enum PartWriter {
    Plain(Vec<u8>),
    Gzip(Box<flate2::write::GzEncoder<Vec<u8>>>),
}

impl PartWriter {
    fn new(compression: Compression, buffer: Vec<u8>) -> Self {
        match compression {
            Compression::None => PartWriter::Plain(buffer),
            Compression::Gzip => PartWriter::Gzip(Box::new(flate2::write::GzEncoder::new(
                buffer,
                flate2::Compression::default(),
            ))),
        }
    }

    /// The bytes of the part so far (compressed, with gzip).
    fn len(&self) -> usize {
        match self {
            PartWriter::Plain(v) => v.len(),
            PartWriter::Gzip(e) => e.get_ref().len(),
        }
    }

    /// The part's buffer, to hand to the store and clear.
    #[cfg(test)]
    fn part(&mut self) -> &mut Vec<u8> {
        match self {
            PartWriter::Plain(v) => v,
            PartWriter::Gzip(e) => e.get_mut(),
        }
    }

    /// The last part: what is left, with the gzip trailer.
    fn finish(self) -> std::io::Result<Vec<u8>> {
        match self {
            PartWriter::Plain(v) => Ok(v),
            PartWriter::Gzip(e) => (*e).finish(),
        }
    }
}

impl std::io::Write for PartWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            PartWriter::Plain(v) => v.write(buf),
            PartWriter::Gzip(e) => e.write(buf),
        }
    }

    /// Nothing to flush: the bytes are in the part already, and a gzip
    /// sync flush per part would only cost compression (the parts are
    /// joined in order anyway).
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    #[test]
    fn gzip_parts_taken_mid_stream_join_into_one_member_of_the_whole_file() {
        // GIVEN a gzip part writer fed 200,000 CSV lines
        let mut writer = PartWriter::new(Compression::Gzip, Vec::new());
        let mut plain = Vec::new();
        let mut parts: Vec<Vec<u8>> = Vec::new();
        for i in 0..200_000 {
            let line = format!("c-{i:07},Zoë {i},{}\r\n", i * 7 % 1_000);
            writer.write_all(line.as_bytes()).expect("write");
            plain.extend_from_slice(line.as_bytes());
            // WHEN parts are taken whenever 64 KiB of output is pending,
            // the buffer cleared and reused
            if writer.len() >= 64 * 1024 {
                parts.push(writer.part().clone());
                writer.part().clear();
            }
        }
        parts.push(writer.finish().expect("finish"));
        // THEN there were several parts, and joined they are one gzip
        // member that decompresses to exactly the lines written
        assert!(parts.len() > 3, "{} parts", parts.len());
        let joined: Vec<u8> = parts.concat();
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&joined[..])
            .read_to_end(&mut out)
            .expect("gunzip");
        assert!(out == plain, "the decompressed bytes differ");
        assert!(
            joined.len() * 3 < plain.len(),
            "{} of {}",
            joined.len(),
            plain.len()
        );
    }

    #[test]
    fn a_plain_part_writer_passes_bytes_through() {
        let mut writer = PartWriter::new(Compression::None, Vec::new());
        writer.write_all(b"a,b\r\n").expect("write");
        assert_eq!(writer.len(), 5);
        assert_eq!(writer.part().as_slice(), b"a,b\r\n");
        writer.part().clear();
        writer.write_all(b"c\r\n").expect("write");
        assert_eq!(writer.finish().expect("finish"), b"c\r\n");
    }
}
