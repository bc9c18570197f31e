//! A cell, a row and a sheet done: what calamine gathers and lays out for them, added up.

use super::{
    beyond, budget_refusal, cell_name, checked_columns, larger, span_of, total_of, Cell, Walk,
    COLUMNS, GATHERED_CELL, ROWS,
};

impl Walk {
    /// A cell read: gathered `repeats` times as `read_row` does (empty ones only once a cell
    /// follows them).
    pub(super) fn cell_done(&mut self, cell: Cell) -> Result<(), String> {
        let max = self.max_record_bytes;
        let row = self.row.as_mut().expect("in a row");
        let pushed = row.pending.min(COLUMNS - row.columns);
        row.columns += pushed;
        row.bytes += pushed;
        row.pending = 0;
        let room = COLUMNS - row.columns;
        if !cell.value && !cell.formula {
            row.pending = cell.repeats.min(room);
            return Ok(());
        }
        if cell.repeats > room {
            return Err(beyond(COLUMNS, row.number));
        }
        if cell.repeats == 0 {
            // Repeated no times: calamine gathers nothing.
            return Ok(());
        }
        if (row.number + row.repeats).saturating_sub(1) > ROWS {
            return Err(beyond(row.columns, row.number.max(ROWS + 1)));
        }
        if cell.text.least > max {
            return Err(larger(
                format!("cell {}", cell_name(row.columns, row.number)),
                max,
            ));
        }
        let n = cell.repeats;
        let first = row.columns;
        row.columns += n;
        row.bytes = row
            .bytes
            .saturating_add(n.saturating_mul(cell.text.least + 1));
        if row.bytes > max {
            return Err(larger(format!("row {}", row.number), max));
        }
        let text = n.saturating_mul(cell.text.held.saturating_add(cell.formula_bytes));
        row.text = row.text.saturating_add(text);
        let span = |was: Option<(u64, u64)>| {
            let (a, b) = was.unwrap_or((first, first + n - 1));
            Some((a.min(first), b.max(first + n - 1)))
        };
        if cell.value {
            row.values = span(row.values);
            row.value_text = row
                .value_text
                .saturating_add(n.saturating_mul(cell.text.held));
        }
        if cell.formula {
            row.formulas = span(row.formulas);
            row.formula_text = row
                .formula_text
                .saturating_add(n.saturating_mul(cell.formula_bytes));
        }
        Ok(())
    }

    /// A row read: what calamine gathered for it, and where it lies in the sheet's grids.
    pub(super) fn row_done(&mut self) -> Result<(), String> {
        let row = self.row.take().expect("in a row");
        let Some(table) = self.table.as_mut() else {
            return Ok(());
        };
        let before = table.rows;
        table.rows += row.capped;
        table.gathered = table
            .gathered
            .saturating_add(checked_columns(row.columns).saturating_mul(GATHERED_CELL))
            .saturating_add(row.text)
            .saturating_add(16);
        let value_text = (
            table.value_text,
            (table.value_text).saturating_add(row.capped.saturating_mul(row.value_text)),
        );
        table.value_text = value_text.1;
        let formula_text = (
            table.formula_text,
            (table.formula_text).saturating_add(row.capped.saturating_mul(row.formula_text)),
        );
        table.formula_text = formula_text.1;
        table.values.add(&row, row.values, before, value_text);
        table.formulas.add(&row, row.formulas, before, formula_text);
        self.check_budget()
    }

    pub(super) fn table_done(&mut self) -> Result<(), String> {
        self.check_budget()?;
        if let Some(table) = self.table.take() {
            self.total =
                self.total
                    .saturating_add(total_of(&table.values, &table.formulas, table.gathered));
        }
        Ok(())
    }

    /// Refuses the workbook once the sheets so far and this one would take more than the
    /// budget.
    fn check_budget(&self) -> Result<(), String> {
        let Some(table) = &self.table else {
            return Ok(());
        };
        let total =
            self.total
                .saturating_add(total_of(&table.values, &table.formulas, table.gathered));
        if total > self.budget {
            let span = span_of(&table.values).or_else(|| span_of(&table.formulas));
            return Err(budget_refusal(&table.name, span, total, self.budget));
        }
        Ok(())
    }
}
