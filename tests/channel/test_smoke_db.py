async def test_every_migration_is_applied(pool):
    from ledger import migrate
    async with pool.acquire() as conn:
        assert await migrate.pending(conn) == []
        applied = await conn.fetchval("SELECT count(*) FROM schema_migrations")
        assert applied == len(migrate.available())
