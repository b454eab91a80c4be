package pg

import (
	"context"
	"fmt"
	"strconv"
)

// RelationCountSQL counts the tables, views, sequences and foreign tables
// of the user's schemas.
const RelationCountSQL = `SELECT count(*) ` + userRelations + `
  AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f');`

// RelationCount returns how many relations the user's schemas hold: zero
// means the database is empty, and a restore over it needs no safety
// backup.
func (d DB) RelationCount(ctx context.Context) (int, error) {
	rows, err := d.Query(ctx, RelationCountSQL)
	if err != nil {
		return 0, err
	}
	if len(rows) != 1 || len(rows[0]) != 1 {
		return 0, fmt.Errorf("count relations: unexpected psql output %q", rows)
	}
	return strconv.Atoi(rows[0][0])
}
