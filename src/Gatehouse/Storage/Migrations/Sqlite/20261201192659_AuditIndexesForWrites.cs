using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Gatehouse.Storage.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class AuditIndexesForWrites : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_AuditRecords_Decision_Time",
                table: "AuditRecords");

            migrationBuilder.DropIndex(
                name: "IX_AuditRecords_Route_Time",
                table: "AuditRecords");

            migrationBuilder.DropIndex(
                name: "IX_AuditRecords_Target_Time",
                table: "AuditRecords");

            migrationBuilder.CreateIndex(
                name: "IX_AuditRecords_Decision_Time",
                table: "AuditRecords",
                columns: new[] { "Decision", "Time" },
                filter: "\"Decision\" <> 'allowed'");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_AuditRecords_Decision_Time",
                table: "AuditRecords");

            migrationBuilder.CreateIndex(
                name: "IX_AuditRecords_Decision_Time",
                table: "AuditRecords",
                columns: new[] { "Decision", "Time" });

            migrationBuilder.CreateIndex(
                name: "IX_AuditRecords_Route_Time",
                table: "AuditRecords",
                columns: new[] { "Route", "Time" });

            migrationBuilder.CreateIndex(
                name: "IX_AuditRecords_Target_Time",
                table: "AuditRecords",
                columns: new[] { "Target", "Time" });
        }
    }
}
