package backupname

import (
	"testing"
	"time"
)

func TestNames(t *testing.T) {
	local := time.FixedZone("X", 5*3600)
	name := Of("shop", time.Date(2026, 1, 2, 8, 4, 5, 0, local))
	if name != "shop_db_backup_20260102_030405.sql.gz" {
		t.Errorf("Of = %s", name)
	}
	p, tm, ok := Parse("/x/" + name)
	if !ok || p != "shop" || !tm.Equal(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) {
		t.Errorf("Parse = %s %v %v", p, tm, ok)
	}
	if _, _, ok := Parse("ledgerflow_backup_20250101_000000.sql.gz"); ok {
		t.Error("Parse read a name that is not ours")
	}
	// ours are UTC, wherever they are read; others are local time
	saved := time.Local
	time.Local = time.FixedZone("Elsewhere", -7*3600)
	defer func() { time.Local = saved }()
	if got, ok := Time("backups/proj_db_backup_20251231_235959.sql.gz"); !ok || !got.Equal(time.Date(2025, 12, 31, 23, 59, 59, 0, time.UTC)) {
		t.Errorf("Time(ours) = %v %v", got, ok)
	}
	if got, ok := Time("ledgerflow_backup_20240102_030405.sql.gz"); !ok || !got.Equal(time.Date(2024, 1, 2, 3, 4, 5, 0, time.Local)) {
		t.Errorf("Time(legacy) = %v %v", got, ok)
	}
	if _, ok := Time("dump.sql.gz"); ok {
		t.Error("time found in dump.sql.gz")
	}
}
