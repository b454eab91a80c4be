# Not executable: the entrypoint sources it, like the official image.
psql -v ON_ERROR_STOP=1 -X -q -U "$POSTGRES_USER" -d "$POSTGRES_DB" -c "INSERT INTO seen VALUES (3, 'sh')"
