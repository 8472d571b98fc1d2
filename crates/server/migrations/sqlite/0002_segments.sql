-- 0002_segments (placeholder until its tables land)
SELECT 1;
