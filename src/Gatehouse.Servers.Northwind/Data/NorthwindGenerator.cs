using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Gatehouse.Servers.Northwind.Data;

internal sealed record GenerationSummary(int Customers, int Products, int Orders, int OrderLines, int FirstYear, int LastYear);

/// <summary>
/// Writes a complete Northwind sales database to an empty file. The output depends only on the seed, so every
/// machine gets the same rows and "What were our sales by year?" has the same answer everywhere.
/// </summary>
internal static class NorthwindGenerator
{
    public const int DefaultSeed = 19_960_704;
    public const int FirstYear = 2022;
    public const int LastYear = 2025;

    // Orders per year grow with the business, which gives "sales by year" a visible trend.
    private static readonly int[] _ordersPerYear = [640, 760, 860, 940];

    // Relative share of orders each employee books (index = employee id - 1): reps sell, the VP rarely does.
    private static readonly double[] _employeeWeights = [1.2, 0.3, 1.3, 1.6, 0.4, 0.7, 0.8, 1.0, 0.5];

    private static readonly double[] _discounts = [0.05, 0.10, 0.15, 0.20, 0.25];

    // Discontinued products stop selling at the end of this year.
    private const int DiscontinuedAfterYear = 2023;

    // List prices in the catalogue are today's; earlier years sold at a few percent less per year.
    private const double YearlyPriceIncrease = 0.03;

    private static readonly DateOnly _lastDay = new(LastYear, 12, 31);

    public const string SchemaSql = """
        CREATE TABLE categories (
            category_id   INTEGER PRIMARY KEY,
            category_name TEXT NOT NULL,
            description   TEXT
        );
        CREATE TABLE suppliers (
            supplier_id   INTEGER PRIMARY KEY,
            company_name  TEXT NOT NULL,
            contact_name  TEXT,
            contact_title TEXT,
            address       TEXT,
            city          TEXT,
            region        TEXT,
            postal_code   TEXT,
            country       TEXT,
            phone         TEXT
        );
        CREATE TABLE products (
            product_id        INTEGER PRIMARY KEY,
            product_name      TEXT NOT NULL,
            supplier_id       INTEGER REFERENCES suppliers (supplier_id),
            category_id       INTEGER REFERENCES categories (category_id),
            quantity_per_unit TEXT,
            unit_price        REAL NOT NULL DEFAULT 0,
            units_in_stock    INTEGER NOT NULL DEFAULT 0,
            units_on_order    INTEGER NOT NULL DEFAULT 0,
            reorder_level     INTEGER NOT NULL DEFAULT 0,
            discontinued      INTEGER NOT NULL DEFAULT 0 CHECK (discontinued IN (0, 1))
        );
        CREATE TABLE customers (
            customer_id   TEXT PRIMARY KEY,
            company_name  TEXT NOT NULL,
            contact_name  TEXT,
            contact_title TEXT,
            address       TEXT,
            city          TEXT,
            region        TEXT,
            postal_code   TEXT,
            country       TEXT,
            phone         TEXT
        );
        CREATE TABLE employees (
            employee_id       INTEGER PRIMARY KEY,
            last_name         TEXT NOT NULL,
            first_name        TEXT NOT NULL,
            title             TEXT,
            title_of_courtesy TEXT,
            birth_date        TEXT,
            hire_date         TEXT,
            address           TEXT,
            city              TEXT,
            region            TEXT,
            postal_code       TEXT,
            country           TEXT,
            home_phone        TEXT,
            reports_to        INTEGER REFERENCES employees (employee_id)
        );
        CREATE TABLE shippers (
            shipper_id   INTEGER PRIMARY KEY,
            company_name TEXT NOT NULL,
            phone        TEXT
        );
        CREATE TABLE orders (
            order_id         INTEGER PRIMARY KEY,
            customer_id      TEXT NOT NULL REFERENCES customers (customer_id),
            employee_id      INTEGER NOT NULL REFERENCES employees (employee_id),
            order_date       TEXT NOT NULL,
            required_date    TEXT,
            shipped_date     TEXT,
            ship_via         INTEGER REFERENCES shippers (shipper_id),
            freight          REAL NOT NULL DEFAULT 0,
            ship_name        TEXT,
            ship_address     TEXT,
            ship_city        TEXT,
            ship_region      TEXT,
            ship_postal_code TEXT,
            ship_country     TEXT
        );
        CREATE TABLE order_details (
            order_id   INTEGER NOT NULL REFERENCES orders (order_id),
            product_id INTEGER NOT NULL REFERENCES products (product_id),
            unit_price REAL NOT NULL,
            quantity   INTEGER NOT NULL CHECK (quantity > 0),
            discount   REAL NOT NULL DEFAULT 0 CHECK (discount >= 0 AND discount < 1),
            PRIMARY KEY (order_id, product_id)
        ) WITHOUT ROWID;
        CREATE INDEX ix_orders_customer_id ON orders (customer_id);
        CREATE INDEX ix_orders_employee_id ON orders (employee_id);
        CREATE INDEX ix_orders_order_date ON orders (order_date);
        CREATE INDEX ix_order_details_product_id ON order_details (product_id);
        CREATE INDEX ix_products_category_id ON products (category_id);
        CREATE INDEX ix_products_supplier_id ON products (supplier_id);
        """;

    /// <summary>Creates the database at <paramref name="path"/>, which must not exist yet.</summary>
    public static GenerationSummary Generate(string path, int seed = DefaultSeed)
    {
        var connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            // The file is moved into place right after this returns: a pooled handle would keep it open.
            Pooling = false,
        }.ToString();

        var rng = new SeededRandom((ulong)seed);
        using var connection = new SqliteConnection(connectionString);
        connection.Open();
        Execute(connection, null, "PRAGMA foreign_keys = ON;");
        using var transaction = connection.BeginTransaction();
        // Checked at commit rather than per row, so that a row may name one written later (an employee's
        // manager); the commit still fails if any reference is left dangling.
        Execute(connection, transaction, "PRAGMA defer_foreign_keys = ON;");
        Execute(connection, transaction, SchemaSql);

        WriteCategories(connection, transaction);
        WriteSuppliers(connection, transaction, rng);
        WriteProducts(connection, transaction, rng);
        var customers = WriteCustomers(connection, transaction, rng);
        WriteEmployees(connection, transaction, rng);
        WriteShippers(connection, transaction, rng);
        var (orders, lines) = WriteOrders(connection, transaction, rng, customers);

        transaction.Commit();
        return new GenerationSummary(customers.Count, SeedData.Products.Count, orders, lines, FirstYear, LastYear);
    }

    private static void WriteCategories(SqliteConnection connection, SqliteTransaction transaction)
    {
        using var insert = new Inserter(connection, transaction, "categories", "category_id", "category_name", "description");
        for (var i = 0; i < SeedData.Categories.Count; i++)
        {
            var c = SeedData.Categories[i];
            insert.Row(i + 1, c.Name, c.Description);
        }
    }

    private static void WriteSuppliers(SqliteConnection connection, SqliteTransaction transaction, SeededRandom rng)
    {
        using var insert = new Inserter(connection, transaction, "suppliers",
            "supplier_id", "company_name", "contact_name", "contact_title", "address", "city", "region", "postal_code", "country", "phone");
        for (var i = 0; i < SeedData.Suppliers.Count; i++)
        {
            var s = SeedData.Suppliers[i];
            insert.Row(i + 1, s.Company, s.ContactName, s.ContactTitle, Address(rng), s.City, s.Region, PostalCode(rng), s.Country, Phone(rng));
        }
    }

    private static void WriteProducts(SqliteConnection connection, SqliteTransaction transaction, SeededRandom rng)
    {
        using var insert = new Inserter(connection, transaction, "products",
            "product_id", "product_name", "supplier_id", "category_id", "quantity_per_unit", "unit_price",
            "units_in_stock", "units_on_order", "reorder_level", "discontinued");
        for (var i = 0; i < SeedData.Products.Count; i++)
        {
            var p = SeedData.Products[i];
            var inStock = p.Discontinued ? rng.Next(0, 4) : rng.Next(0, 126);
            var reorderLevel = p.Discontinued ? 0 : 5 * rng.Next(0, 7);
            var onOrder = !p.Discontinued && inStock <= reorderLevel ? 10 * rng.Next(1, 10) : 0;
            insert.Row(i + 1, p.Name, p.SupplierId, p.CategoryId, p.QuantityPerUnit, p.UnitPrice,
                inStock, onOrder, reorderLevel, p.Discontinued ? 1 : 0);
        }
    }

    private sealed record CustomerRow(string Id, string Company, string Address, string City, string? Region, string PostalCode, string Country);

    private static List<CustomerRow> WriteCustomers(SqliteConnection connection, SqliteTransaction transaction, SeededRandom rng)
    {
        using var insert = new Inserter(connection, transaction, "customers",
            "customer_id", "company_name", "contact_name", "contact_title", "address", "city", "region", "postal_code", "country", "phone");
        var usedIds = new HashSet<string>(StringComparer.Ordinal);
        var rows = new List<CustomerRow>(SeedData.Customers.Count);
        foreach (var c in SeedData.Customers)
        {
            var row = new CustomerRow(CustomerId(c.Company, usedIds), c.Company, Address(rng), c.City, c.Region, PostalCode(rng), c.Country);
            rows.Add(row);
            var contact = $"{rng.Pick(SeedData.ContactFirstNames)} {rng.Pick(SeedData.ContactLastNames)}";
            insert.Row(row.Id, row.Company, contact, rng.Pick(SeedData.ContactTitles), row.Address, row.City, row.Region,
                row.PostalCode, row.Country, Phone(rng));
        }

        return rows;
    }

    private static void WriteEmployees(SqliteConnection connection, SqliteTransaction transaction, SeededRandom rng)
    {
        using var insert = new Inserter(connection, transaction, "employees",
            "employee_id", "last_name", "first_name", "title", "title_of_courtesy", "birth_date", "hire_date",
            "address", "city", "region", "postal_code", "country", "home_phone", "reports_to");
        for (var i = 0; i < SeedData.Employees.Count; i++)
        {
            var e = SeedData.Employees[i];
            var birth = new DateOnly(1962, 1, 1).AddDays(rng.Next(0, 34 * 365));
            // Everyone was hired before the first order year, so each can have sold in every year.
            var hire = new DateOnly(2012, 1, 1).AddDays(rng.Next(0, 9 * 365));
            insert.Row(i + 1, e.LastName, e.FirstName, e.Title, e.TitleOfCourtesy, Date(birth), Date(hire),
                Address(rng), e.City, e.Region, PostalCode(rng), e.Country, Phone(rng), e.ReportsTo);
        }
    }

    private static void WriteShippers(SqliteConnection connection, SqliteTransaction transaction, SeededRandom rng)
    {
        using var insert = new Inserter(connection, transaction, "shippers", "shipper_id", "company_name", "phone");
        for (var i = 0; i < SeedData.Shippers.Count; i++)
        {
            insert.Row(i + 1, SeedData.Shippers[i], Phone(rng));
        }
    }

    private static (int Orders, int Lines) WriteOrders(
        SqliteConnection connection, SqliteTransaction transaction, SeededRandom rng, List<CustomerRow> customers)
    {
        // A few customers buy a lot and many buy a little, as in real order books.
        var customerWeights = customers.Select(_ => 0.3 + (3 * Math.Pow(rng.NextDouble(), 2))).ToArray();

        var dates = new List<DateOnly>();
        for (var y = 0; y < _ordersPerYear.Length; y++)
        {
            var year = FirstYear + y;
            var daysInYear = DateTime.IsLeapYear(year) ? 366 : 365;
            for (var n = 0; n < _ordersPerYear[y]; n++)
            {
                dates.Add(new DateOnly(year, 1, 1).AddDays(rng.Next(0, daysInYear)));
            }
        }

        // Order ids rise with the date, as they would in a live system.
        dates.Sort();

        using var orderInsert = new Inserter(connection, transaction, "orders",
            "order_id", "customer_id", "employee_id", "order_date", "required_date", "shipped_date", "ship_via", "freight",
            "ship_name", "ship_address", "ship_city", "ship_region", "ship_postal_code", "ship_country");
        using var lineInsert = new Inserter(connection, transaction, "order_details",
            "order_id", "product_id", "unit_price", "quantity", "discount");

        var lines = 0;
        var productIds = new List<int>(5);
        for (var i = 0; i < dates.Count; i++)
        {
            // The classic Northwind order numbers start at 10248.
            var orderId = 10_248 + i;
            var orderDate = dates[i];
            var customer = customers[PickWeighted(rng, customerWeights)];
            var employeeId = PickWeighted(rng, _employeeWeights) + 1;
            var required = orderDate.AddDays(rng.Chance(0.1) ? 14 : rng.Chance(0.05) ? 42 : 28);
            var shipped = orderDate.AddDays(rng.Next(1, 15));
            var freight = Math.Round(0.5 + (rng.NextDouble() * 180), 2);

            orderInsert.Row(orderId, customer.Id, employeeId, Date(orderDate), Date(required),
                shipped > _lastDay ? null : Date(shipped), rng.Next(1, SeedData.Shippers.Count + 1), freight,
                customer.Company, customer.Address, customer.City, customer.Region, customer.PostalCode, customer.Country);

            productIds.Clear();
            var lineCount = 1 + rng.Next(0, 3) + (rng.Chance(0.3) ? rng.Next(1, 3) : 0);
            while (productIds.Count < lineCount)
            {
                var productId = rng.Next(1, SeedData.Products.Count + 1);
                var product = SeedData.Products[productId - 1];
                if (productIds.Contains(productId) || (product.Discontinued && orderDate.Year > DiscontinuedAfterYear))
                {
                    continue;
                }

                productIds.Add(productId);
                var price = Math.Round(product.UnitPrice * (1 - (YearlyPriceIncrease * (LastYear - orderDate.Year))), 2);
                var quantity = 1 + (int)(Math.Pow(rng.NextDouble(), 1.5) * 70);
                var discount = rng.Chance(0.65) ? 0.0 : rng.Pick(_discounts);
                lineInsert.Row(orderId, productId, price, quantity, discount);
                lines++;
            }
        }

        return (dates.Count, lines);
    }

    private static int PickWeighted(SeededRandom rng, double[] weights)
    {
        var target = rng.NextDouble() * weights.Sum();
        for (var i = 0; i < weights.Length; i++)
        {
            target -= weights[i];
            if (target < 0)
            {
                return i;
            }
        }

        return weights.Length - 1;
    }

    /// <summary>
    /// Five letters from the company name, the way Northwind's ids look ("Alfreds Futterkiste" is ALFFU),
    /// with a letter changed when two companies would collide.
    /// </summary>
    private static string CustomerId(string company, HashSet<string> used)
    {
        var words = company.Split([' ', '-', '/', '\''], StringSplitOptions.RemoveEmptyEntries)
            .Select(w => new string(w.Where(char.IsAsciiLetter).ToArray()).ToUpperInvariant())
            .Where(w => w.Length > 0)
            .ToList();
        var head = Math.Min(3, words[0].Length);
        var letters = string.Concat(words[0][..head], string.Concat(words.Skip(1)), words[0][head..]);
        var id = (letters + "XXXXX")[..5];
        for (var c = 'A'; !used.Add(id); c++)
        {
            id = string.Concat(id.AsSpan(0, 4), c.ToString());
        }

        return id;
    }

    private static string Address(SeededRandom rng) => $"{rng.Pick(SeedData.Streets)} {rng.Next(1, 300)}";

    private static string PostalCode(SeededRandom rng) => rng.Next(10_000, 100_000).ToString(CultureInfo.InvariantCulture);

    // 555-01xx style numbers are reserved for fiction, so no generated number belongs to a real line.
    private static string Phone(SeededRandom rng) =>
        string.Create(CultureInfo.InvariantCulture, $"({rng.Next(100, 1000)}) 555-01{rng.Next(0, 100):00}");

    private static string Date(DateOnly date) => date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    private static void Execute(SqliteConnection connection, SqliteTransaction? transaction, string sql)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    /// <summary>One prepared INSERT reused for every row of a table.</summary>
    private sealed class Inserter : IDisposable
    {
        private readonly SqliteCommand _command;

        public Inserter(SqliteConnection connection, SqliteTransaction transaction, string table, params string[] columns)
        {
            _command = connection.CreateCommand();
            _command.Transaction = transaction;
            // Table and column names are constants of this class, never input.
#pragma warning disable CA2100
            _command.CommandText =
                $"INSERT INTO {table} ({string.Join(", ", columns)}) VALUES ({string.Join(", ", columns.Select(c => "$" + c))})";
#pragma warning restore CA2100
            foreach (var column in columns)
            {
                _command.Parameters.Add(new SqliteParameter("$" + column, null));
            }

            _command.Prepare();
        }

        public void Row(params object?[] values)
        {
            for (var i = 0; i < values.Length; i++)
            {
                _command.Parameters[i].Value = values[i] ?? DBNull.Value;
            }

            _command.ExecuteNonQuery();
        }

        public void Dispose() => _command.Dispose();
    }
}
