using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace Gatehouse.Storage.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class AuditLog : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "AuditRecords",
                columns: table => new
                {
                    Id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    Time = table.Column<long>(type: "bigint", nullable: false),
                    RequestId = table.Column<string>(type: "character varying(100)", maxLength: 100, nullable: false),
                    Subject = table.Column<string>(type: "character varying(320)", maxLength: 320, nullable: true),
                    Email = table.Column<string>(type: "character varying(320)", maxLength: 320, nullable: true),
                    ClientId = table.Column<string>(type: "character varying(1000)", maxLength: 1000, nullable: true),
                    Route = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false),
                    SessionId = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: true),
                    JsonRpcId = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: true),
                    Method = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: true),
                    Target = table.Column<string>(type: "character varying(500)", maxLength: 500, nullable: true),
                    Arguments = table.Column<string>(type: "text", nullable: true),
                    Decision = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    Rule = table.Column<string>(type: "character varying(1000)", maxLength: 1000, nullable: true),
                    UpstreamStatus = table.Column<int>(type: "integer", nullable: true),
                    ErrorCode = table.Column<int>(type: "integer", nullable: true),
                    LatencyMs = table.Column<double>(type: "double precision", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_AuditRecords", x => x.Id);
                });

            migrationBuilder.CreateIndex(
                name: "IX_AuditRecords_Decision_Time",
                table: "AuditRecords",
                columns: new[] { "Decision", "Time" });

            migrationBuilder.CreateIndex(
                name: "IX_AuditRecords_Email_Time",
                table: "AuditRecords",
                columns: new[] { "Email", "Time" });

            migrationBuilder.CreateIndex(
                name: "IX_AuditRecords_RequestId",
                table: "AuditRecords",
                column: "RequestId");

            migrationBuilder.CreateIndex(
                name: "IX_AuditRecords_Route_Time",
                table: "AuditRecords",
                columns: new[] { "Route", "Time" });

            migrationBuilder.CreateIndex(
                name: "IX_AuditRecords_Target_Time",
                table: "AuditRecords",
                columns: new[] { "Target", "Time" });

            migrationBuilder.CreateIndex(
                name: "IX_AuditRecords_Time",
                table: "AuditRecords",
                column: "Time");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "AuditRecords");
        }
    }
}
