using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Gatehouse.Storage.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class UpstreamTokenVault : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "UpstreamClientRegistrations",
                columns: table => new
                {
                    Issuer = table.Column<string>(type: "TEXT", maxLength: 500, nullable: false),
                    RedirectUri = table.Column<string>(type: "TEXT", maxLength: 500, nullable: false),
                    ClientId = table.Column<string>(type: "TEXT", maxLength: 1000, nullable: false),
                    ProtectedSecret = table.Column<string>(type: "TEXT", nullable: true),
                    AuthMethod = table.Column<string>(type: "TEXT", maxLength: 64, nullable: true),
                    SecretExpiresAt = table.Column<long>(type: "INTEGER", nullable: true),
                    CreatedAt = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_UpstreamClientRegistrations", x => new { x.Issuer, x.RedirectUri });
                });

            migrationBuilder.CreateTable(
                name: "UpstreamTokens",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    Subject = table.Column<string>(type: "TEXT", maxLength: 320, nullable: false),
                    RouteId = table.Column<string>(type: "TEXT", maxLength: 200, nullable: false),
                    ResourceKey = table.Column<string>(type: "TEXT", maxLength: 1000, nullable: false),
                    Issuer = table.Column<string>(type: "TEXT", maxLength: 1000, nullable: false),
                    TokenEndpoint = table.Column<string>(type: "TEXT", maxLength: 1000, nullable: false),
                    RevocationEndpoint = table.Column<string>(type: "TEXT", maxLength: 1000, nullable: true),
                    ClientId = table.Column<string>(type: "TEXT", maxLength: 1000, nullable: false),
                    ClientKind = table.Column<string>(type: "TEXT", maxLength: 32, nullable: false),
                    AuthMethod = table.Column<string>(type: "TEXT", maxLength: 64, nullable: true),
                    Resource = table.Column<string>(type: "TEXT", maxLength: 1000, nullable: true),
                    Scopes = table.Column<string>(type: "TEXT", maxLength: 2000, nullable: false),
                    ProtectedTokens = table.Column<string>(type: "TEXT", nullable: false),
                    ExpiresAt = table.Column<long>(type: "INTEGER", nullable: true),
                    Disconnected = table.Column<bool>(type: "INTEGER", nullable: false),
                    RefreshLeaseUntil = table.Column<long>(type: "INTEGER", nullable: true),
                    UpdatedAt = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_UpstreamTokens", x => x.Id);
                });

            migrationBuilder.CreateIndex(
                name: "IX_UpstreamTokens_Subject_RouteId_ResourceKey",
                table: "UpstreamTokens",
                columns: new[] { "Subject", "RouteId", "ResourceKey" },
                unique: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "UpstreamClientRegistrations");

            migrationBuilder.DropTable(
                name: "UpstreamTokens");
        }
    }
}
