CREATE TABLE seen (n int PRIMARY KEY, source text NOT NULL);
INSERT INTO seen VALUES (1, 'sql');
