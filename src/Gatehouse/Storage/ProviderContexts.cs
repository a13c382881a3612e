using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace Gatehouse.Storage;

/// <summary>The SQLite flavour; its migrations live in Storage/Migrations/Sqlite.</summary>
internal sealed class SqliteGatehouseDbContext(DbContextOptions<SqliteGatehouseDbContext> options) : GatehouseDbContext(options);

/// <summary>The PostgreSQL flavour; its migrations live in Storage/Migrations/Postgres.</summary>
internal sealed class PostgresGatehouseDbContext(DbContextOptions<PostgresGatehouseDbContext> options) : GatehouseDbContext(options);

/// <summary>
/// Used only by <c>dotnet ef migrations add ... --context SqliteGatehouseDbContext</c>; never opens the database.
/// </summary>
internal sealed class SqliteDesignTimeFactory : IDesignTimeDbContextFactory<SqliteGatehouseDbContext>
{
    public SqliteGatehouseDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<SqliteGatehouseDbContext>().UseSqlite("Data Source=design-time.db").Options);
}

/// <summary>
/// Used only by <c>dotnet ef migrations add ... --context PostgresGatehouseDbContext</c>; never opens the database.
/// </summary>
internal sealed class PostgresDesignTimeFactory : IDesignTimeDbContextFactory<PostgresGatehouseDbContext>
{
    public PostgresGatehouseDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<PostgresGatehouseDbContext>().UseNpgsql("Host=localhost;Database=gatehouse").Options);
}
