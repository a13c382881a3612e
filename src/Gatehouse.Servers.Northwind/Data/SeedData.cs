namespace Gatehouse.Servers.Northwind.Data;

internal sealed record CategorySeed(string Name, string Description);

internal sealed record SupplierSeed(string Company, string ContactName, string ContactTitle, string City, string? Region, string Country);

internal sealed record ProductSeed(string Name, int SupplierId, int CategoryId, string QuantityPerUnit, double UnitPrice, bool Discontinued = false);

internal sealed record CustomerSeed(string Company, string City, string? Region, string Country);

internal sealed record EmployeeSeed(
    string FirstName, string LastName, string Title, string TitleOfCourtesy, string City, string? Region, string Country, int? ReportsTo);

/// <summary>
/// The fixed reference data: the familiar Northwind catalogue (categories, suppliers, products, staff) so
/// that questions people ask of "Northwind" have the answers they expect. Everything that varies (contacts,
/// addresses, orders) is drawn from <see cref="SeededRandom"/> in <see cref="NorthwindGenerator"/>.
/// </summary>
internal static class SeedData
{
    public static readonly IReadOnlyList<CategorySeed> Categories =
    [
        new("Beverages", "Soft drinks, coffees, teas, beers, and ales"),
        new("Condiments", "Sweet and savory sauces, relishes, spreads, and seasonings"),
        new("Confections", "Desserts, candies, and sweet breads"),
        new("Dairy Products", "Cheeses"),
        new("Grains/Cereals", "Breads, crackers, pasta, and cereal"),
        new("Meat/Poultry", "Prepared meats"),
        new("Produce", "Dried fruit and bean curd"),
        new("Seafood", "Seaweed and fish"),
    ];

    public static readonly IReadOnlyList<SupplierSeed> Suppliers =
    [
        new("Exotic Liquids", "Charlotte Cooper", "Purchasing Manager", "London", null, "UK"),
        new("New Orleans Cajun Delights", "Shelley Burke", "Order Administrator", "New Orleans", "LA", "USA"),
        new("Grandma Kelly's Homestead", "Regina Murphy", "Sales Representative", "Ann Arbor", "MI", "USA"),
        new("Tokyo Traders", "Yoshi Nagase", "Marketing Manager", "Tokyo", null, "Japan"),
        new("Cooperativa de Quesos 'Las Cabras'", "Antonio del Valle Saavedra", "Export Administrator", "Oviedo", "Asturias", "Spain"),
        new("Mayumi's", "Mayumi Ohno", "Marketing Representative", "Osaka", null, "Japan"),
        new("Pavlova, Ltd.", "Ian Devling", "Marketing Manager", "Melbourne", "Victoria", "Australia"),
        new("Specialty Biscuits, Ltd.", "Peter Wilson", "Sales Representative", "Manchester", null, "UK"),
        new("PB Knäckebröd AB", "Lars Peterson", "Sales Agent", "Göteborg", null, "Sweden"),
        new("Refrescos Americanas LTDA", "Carlos Diaz", "Marketing Manager", "São Paulo", null, "Brazil"),
        new("Heli Süßwaren GmbH & Co. KG", "Petra Winkler", "Sales Manager", "Berlin", null, "Germany"),
        new("Plutzer Lebensmittelgroßmärkte AG", "Martin Bein", "International Marketing Manager", "Frankfurt", null, "Germany"),
        new("Nord-Ost-Fisch Handelsgesellschaft mbH", "Sven Petersen", "Coordinator Foreign Markets", "Cuxhaven", null, "Germany"),
        new("Formaggi Fortini s.r.l.", "Elio Rossi", "Sales Representative", "Ravenna", null, "Italy"),
        new("Norske Meierier", "Beate Vileid", "Marketing Manager", "Sandvika", null, "Norway"),
        new("Bigfoot Breweries", "Cheryl Saylor", "Regional Account Representative", "Bend", "OR", "USA"),
        new("Svensk Sjöföda AB", "Michael Björn", "Sales Representative", "Stockholm", null, "Sweden"),
        new("Aux joyeux ecclésiastiques", "Guylène Nodier", "Sales Manager", "Paris", null, "France"),
        new("New England Seafood Cannery", "Robb Merchant", "Wholesale Account Agent", "Boston", "MA", "USA"),
        new("Leka Trading", "Chandra Leka", "Owner", "Singapore", null, "Singapore"),
        new("Lyngbysild", "Niels Petersen", "Sales Manager", "Lyngby", null, "Denmark"),
        new("Zaanse Snoepfabriek", "Dirk Luchte", "Accounting Manager", "Zaandam", null, "Netherlands"),
        new("Karkki Oy", "Anne Heikkonen", "Product Manager", "Lappeenranta", null, "Finland"),
        new("G'day, Mate", "Wendy Mackenzie", "Sales Representative", "Sydney", "NSW", "Australia"),
        new("Ma Maison", "Jean-Guy Lauzon", "Marketing Manager", "Montréal", "Québec", "Canada"),
        new("Pasta Buttini s.r.l.", "Giovanni Giudici", "Order Administrator", "Salerno", null, "Italy"),
        new("Escargots Nouveaux", "Marie Delamare", "Sales Manager", "Montceau", null, "France"),
        new("Gai pâturage", "Eliane Noz", "Sales Representative", "Annecy", null, "France"),
        new("Forêts d'érables", "Chantal Goulet", "Accounting Manager", "Ste-Hyacinthe", "Québec", "Canada"),
    ];

    // Supplier and category ids are 1-based positions in the lists above.
    public static readonly IReadOnlyList<ProductSeed> Products =
    [
        new("Chai", 1, 1, "10 boxes x 20 bags", 18.00),
        new("Chang", 1, 1, "24 - 12 oz bottles", 19.00),
        new("Aniseed Syrup", 1, 2, "12 - 550 ml bottles", 10.00),
        new("Chef Anton's Cajun Seasoning", 2, 2, "48 - 6 oz jars", 22.00),
        new("Chef Anton's Gumbo Mix", 2, 2, "36 boxes", 21.35, Discontinued: true),
        new("Grandma's Boysenberry Spread", 3, 2, "12 - 8 oz jars", 25.00),
        new("Uncle Bob's Organic Dried Pears", 3, 7, "12 - 1 lb pkgs.", 30.00),
        new("Northwoods Cranberry Sauce", 3, 2, "12 - 12 oz jars", 40.00),
        new("Mishi Kobe Niku", 4, 6, "18 - 500 g pkgs.", 97.00, Discontinued: true),
        new("Ikura", 4, 8, "12 - 200 ml jars", 31.00),
        new("Queso Cabrales", 5, 4, "1 kg pkg.", 21.00),
        new("Queso Manchego La Pastora", 5, 4, "10 - 500 g pkgs.", 38.00),
        new("Konbu", 6, 8, "2 kg box", 6.00),
        new("Tofu", 6, 7, "40 - 100 g pkgs.", 23.25),
        new("Genen Shouyu", 6, 2, "24 - 250 ml bottles", 15.50),
        new("Pavlova", 7, 3, "32 - 500 g boxes", 17.45),
        new("Alice Mutton", 7, 6, "20 - 1 kg tins", 39.00, Discontinued: true),
        new("Carnarvon Tigers", 7, 8, "16 kg pkg.", 62.50),
        new("Teatime Chocolate Biscuits", 8, 3, "10 boxes x 12 pieces", 9.20),
        new("Sir Rodney's Marmalade", 8, 3, "30 gift boxes", 81.00),
        new("Sir Rodney's Scones", 8, 3, "24 pkgs. x 4 pieces", 10.00),
        new("Gustaf's Knäckebröd", 9, 5, "24 - 500 g pkgs.", 21.00),
        new("Tunnbröd", 9, 5, "12 - 250 g pkgs.", 9.00),
        new("Guaraná Fantástica", 10, 1, "12 - 355 ml cans", 4.50, Discontinued: true),
        new("NuNuCa Nuß-Nougat-Creme", 11, 3, "20 - 450 g glasses", 14.00),
        new("Gumbär Gummibärchen", 11, 3, "100 - 250 g bags", 31.23),
        new("Schoggi Schokolade", 11, 3, "100 - 100 g pieces", 43.90),
        new("Rössle Sauerkraut", 12, 7, "25 - 825 g cans", 45.60, Discontinued: true),
        new("Thüringer Rostbratwurst", 12, 6, "50 bags x 30 sausages", 123.79, Discontinued: true),
        new("Nord-Ost Matjeshering", 13, 8, "10 - 200 g glasses", 25.89),
        new("Gorgonzola Telino", 14, 4, "12 - 100 g pkgs", 12.50),
        new("Mascarpone Fabioli", 14, 4, "24 - 200 g pkgs.", 32.00),
        new("Geitost", 15, 4, "500 g", 2.50),
        new("Sasquatch Ale", 16, 1, "24 - 12 oz bottles", 14.00),
        new("Steeleye Stout", 16, 1, "24 - 12 oz bottles", 18.00),
        new("Inlagd Sill", 17, 8, "24 - 250 g jars", 19.00),
        new("Gravad lax", 17, 8, "12 - 500 g pkgs.", 26.00),
        new("Côte de Blaye", 18, 1, "12 - 75 cl bottles", 263.50),
        new("Chartreuse verte", 18, 1, "750 cc per bottle", 18.00),
        new("Boston Crab Meat", 19, 8, "24 - 4 oz tins", 18.40),
        new("Jack's New England Clam Chowder", 19, 8, "12 - 12 oz cans", 9.65),
        new("Singaporean Hokkien Fried Mee", 20, 5, "32 - 1 kg pkgs.", 14.00, Discontinued: true),
        new("Ipoh Coffee", 20, 1, "16 - 500 g tins", 46.00),
        new("Gula Malacca", 20, 2, "20 - 2 kg bags", 19.45),
        new("Rogede sild", 21, 8, "1k pkg.", 9.50),
        new("Spegesild", 21, 8, "4 - 450 g glasses", 12.00),
        new("Zaanse koeken", 22, 3, "10 - 4 oz boxes", 9.50),
        new("Chocolade", 22, 3, "10 pkgs.", 12.75),
        new("Maxilaku", 23, 3, "24 - 50 g pkgs.", 20.00),
        new("Valkoinen suklaa", 23, 3, "12 - 100 g bars", 16.25),
        new("Manjimup Dried Apples", 24, 7, "50 - 300 g pkgs.", 53.00),
        new("Filo Mix", 24, 5, "16 - 2 kg boxes", 7.00),
        new("Perth Pasties", 24, 6, "48 pieces", 32.80, Discontinued: true),
        new("Tourtière", 25, 6, "16 pies", 7.45),
        new("Pâté chinois", 25, 6, "24 boxes x 2 pies", 24.00),
        new("Gnocchi di nonna Alice", 26, 5, "24 - 250 g pkgs.", 38.00),
        new("Ravioli Angelo", 26, 5, "24 - 250 g pkgs.", 19.50),
        new("Escargots de Bourgogne", 27, 8, "24 pieces", 13.25),
        new("Raclette Courdavault", 28, 4, "5 kg pkg.", 55.00),
        new("Camembert Pierrot", 28, 4, "15 - 300 g rounds", 34.00),
        new("Sirop d'érable", 29, 2, "24 - 500 ml bottles", 28.50),
        new("Tarte au sucre", 29, 3, "48 pies", 49.30),
        new("Vegie-spread", 7, 2, "15 - 625 g jars", 43.90),
        new("Wimmers gute Semmelknödel", 12, 5, "20 bags x 4 pieces", 33.25),
        new("Louisiana Fiery Hot Pepper Sauce", 2, 2, "32 - 8 oz bottles", 21.05),
        new("Louisiana Hot Spiced Okra", 2, 2, "24 - 8 oz jars", 17.00),
        new("Laughing Lumberjack Lager", 16, 1, "24 - 12 oz bottles", 14.00),
        new("Scottish Longbreads", 8, 3, "10 boxes x 8 pieces", 12.50),
        new("Gudbrandsdalsost", 15, 4, "10 kg pkg.", 36.00),
        new("Outback Lager", 7, 1, "24 - 355 ml bottles", 15.00),
        new("Flotemysost", 15, 4, "10 - 500 g pkgs.", 21.50),
        new("Mozzarella di Giovanni", 14, 4, "24 - 200 g pkgs.", 34.80),
        new("Röd Kaviar", 17, 8, "24 - 150 g jars", 15.00),
        new("Longlife Tofu", 4, 7, "5 kg pkg.", 10.00),
        new("Rhönbräu Klosterbier", 12, 1, "24 - 0.5 l bottles", 7.75),
        new("Lakkalikööri", 23, 1, "500 ml", 18.00),
        new("Original Frankfurter grüne Soße", 12, 2, "12 boxes", 13.00),
    ];

    public static readonly IReadOnlyList<CustomerSeed> Customers =
    [
        new("Alfreds Futterkiste", "Berlin", null, "Germany"),
        new("Ana Trujillo Emparedados y helados", "México D.F.", null, "Mexico"),
        new("Antonio Moreno Taquería", "México D.F.", null, "Mexico"),
        new("Around the Horn", "London", null, "UK"),
        new("Berglunds snabbköp", "Luleå", null, "Sweden"),
        new("Blauer See Delikatessen", "Mannheim", null, "Germany"),
        new("Blondel père et fils", "Strasbourg", null, "France"),
        new("Bólido Comidas preparadas", "Madrid", null, "Spain"),
        new("Bon app'", "Marseille", null, "France"),
        new("Bottom-Dollar Markets", "Tsawassen", "BC", "Canada"),
        new("B's Beverages", "London", null, "UK"),
        new("Cactus Comidas para llevar", "Buenos Aires", null, "Argentina"),
        new("Centro comercial Moctezuma", "México D.F.", null, "Mexico"),
        new("Chop-suey Chinese", "Bern", null, "Switzerland"),
        new("Comércio Mineiro", "São Paulo", "SP", "Brazil"),
        new("Consolidated Holdings", "London", null, "UK"),
        new("Drachenblut Delikatessen", "Aachen", null, "Germany"),
        new("Du monde entier", "Nantes", null, "France"),
        new("Eastern Connection", "London", null, "UK"),
        new("Ernst Handel", "Graz", null, "Austria"),
        new("Familia Arquibaldo", "São Paulo", "SP", "Brazil"),
        new("FISSA Fabrica Inter. Salchichas S.A.", "Madrid", null, "Spain"),
        new("Folies gourmandes", "Lille", null, "France"),
        new("Folk och fä HB", "Bräcke", null, "Sweden"),
        new("Frankenversand", "München", null, "Germany"),
        new("France restauration", "Nantes", null, "France"),
        new("Franchi S.p.A.", "Torino", null, "Italy"),
        new("Furia Bacalhau e Frutos do Mar", "Lisboa", null, "Portugal"),
        new("Galería del gastrónomo", "Barcelona", null, "Spain"),
        new("Godos Cocina Típica", "Sevilla", null, "Spain"),
        new("Gourmet Lanchonetes", "Campinas", "SP", "Brazil"),
        new("Great Lakes Food Market", "Eugene", "OR", "USA"),
        new("GROSELLA-Restaurante", "Caracas", "DF", "Venezuela"),
        new("Hanari Carnes", "Rio de Janeiro", "RJ", "Brazil"),
        new("HILARION-Abastos", "San Cristóbal", "Táchira", "Venezuela"),
        new("Hungry Coyote Import Store", "Elgin", "OR", "USA"),
        new("Hungry Owl All-Night Grocers", "Cork", "Co. Cork", "Ireland"),
        new("Island Trading", "Cowes", "Isle of Wight", "UK"),
        new("Königlich Essen", "Brandenburg", null, "Germany"),
        new("La corne d'abondance", "Versailles", null, "France"),
        new("La maison d'Asie", "Toulouse", null, "France"),
        new("Laughing Bacchus Wine Cellars", "Vancouver", "BC", "Canada"),
        new("Lazy K Kountry Store", "Walla Walla", "WA", "USA"),
        new("Lehmanns Marktstand", "Frankfurt a.M.", null, "Germany"),
        new("Let's Stop N Shop", "San Francisco", "CA", "USA"),
        new("LILA-Supermercado", "Barquisimeto", "Lara", "Venezuela"),
        new("LINO-Delicateses", "I. de Margarita", "Nueva Esparta", "Venezuela"),
        new("Lonesome Pine Restaurant", "Portland", "OR", "USA"),
        new("Magazzini Alimentari Riuniti", "Bergamo", null, "Italy"),
        new("Maison Dewey", "Bruxelles", null, "Belgium"),
        new("Mère Paillarde", "Montréal", "Québec", "Canada"),
        new("Morgenstern Gesundkost", "Leipzig", null, "Germany"),
        new("North/South", "London", null, "UK"),
        new("Océano Atlántico Ltda.", "Buenos Aires", null, "Argentina"),
        new("Old World Delicatessen", "Anchorage", "AK", "USA"),
        new("Ottilies Käseladen", "Köln", null, "Germany"),
        new("Paris spécialités", "Paris", null, "France"),
        new("Pericles Comidas clásicas", "México D.F.", null, "Mexico"),
        new("Piccolo und mehr", "Salzburg", null, "Austria"),
        new("Princesa Isabel Vinhos", "Lisboa", null, "Portugal"),
        new("Que Delícia", "Rio de Janeiro", "RJ", "Brazil"),
        new("Queen Cozinha", "São Paulo", "SP", "Brazil"),
        new("QUICK-Stop", "Cunewalde", null, "Germany"),
        new("Rancho grande", "Buenos Aires", null, "Argentina"),
        new("Rattlesnake Canyon Grocery", "Albuquerque", "NM", "USA"),
        new("Reggiani Caseifici", "Reggio Emilia", null, "Italy"),
        new("Ricardo Adocicados", "Rio de Janeiro", "RJ", "Brazil"),
        new("Richter Supermarkt", "Genève", null, "Switzerland"),
        new("Romero y tomillo", "Madrid", null, "Spain"),
        new("Santé Gourmet", "Stavern", null, "Norway"),
        new("Save-a-lot Markets", "Boise", "ID", "USA"),
        new("Seven Seas Imports", "London", null, "UK"),
        new("Simons bistro", "København", null, "Denmark"),
        new("Spécialités du monde", "Paris", null, "France"),
        new("Split Rail Beer & Ale", "Lander", "WY", "USA"),
        new("Suprêmes délices", "Charleroi", null, "Belgium"),
        new("The Big Cheese", "Portland", "OR", "USA"),
        new("The Cracker Box", "Butte", "MT", "USA"),
        new("Toms Spezialitäten", "Münster", null, "Germany"),
        new("Tortuga Restaurante", "México D.F.", null, "Mexico"),
        new("Tradição Hipermercados", "São Paulo", "SP", "Brazil"),
        new("Trail's Head Gourmet Provisioners", "Kirkland", "WA", "USA"),
        new("Vaffeljernet", "Århus", null, "Denmark"),
        new("Victuailles en stock", "Lyon", null, "France"),
        new("Vins et alcools Chevalier", "Reims", null, "France"),
        new("Die Wandernde Kuh", "Stuttgart", null, "Germany"),
        new("Wartian Herkku", "Oulu", null, "Finland"),
        new("Wellington Importadora", "Resende", "SP", "Brazil"),
        new("White Clover Markets", "Seattle", "WA", "USA"),
        new("Wilman Kala", "Helsinki", null, "Finland"),
        new("Wolski Zajazd", "Warszawa", null, "Poland"),
    ];

    // Ids are 1-based positions; Andrew Fuller (2) runs sales, Steven Buchanan (5) manages the London office.
    public static readonly IReadOnlyList<EmployeeSeed> Employees =
    [
        new("Nancy", "Davolio", "Sales Representative", "Ms.", "Seattle", "WA", "USA", 2),
        new("Andrew", "Fuller", "Vice President, Sales", "Dr.", "Tacoma", "WA", "USA", null),
        new("Janet", "Leverling", "Sales Representative", "Ms.", "Kirkland", "WA", "USA", 2),
        new("Margaret", "Peacock", "Sales Representative", "Mrs.", "Redmond", "WA", "USA", 2),
        new("Steven", "Buchanan", "Sales Manager", "Mr.", "London", null, "UK", 2),
        new("Michael", "Suyama", "Sales Representative", "Mr.", "London", null, "UK", 5),
        new("Robert", "King", "Sales Representative", "Mr.", "London", null, "UK", 5),
        new("Laura", "Callahan", "Inside Sales Coordinator", "Ms.", "Seattle", "WA", "USA", 2),
        new("Anne", "Dodsworth", "Sales Representative", "Ms.", "London", null, "UK", 5),
    ];

    public static readonly IReadOnlyList<string> Shippers = ["Speedy Express", "United Package", "Federal Shipping"];

    public static readonly IReadOnlyList<string> ContactFirstNames =
    [
        "Maria", "Ana", "Antonio", "Thomas", "Christina", "Hanna", "Frédérique", "Martín", "Laurence", "Elizabeth",
        "Victoria", "Patricio", "Francisco", "Yang", "Pedro", "Ann", "Sven", "Janine", "Roland", "Aria",
        "Diego", "Peter", "Carine", "Paolo", "Lino", "Eduardo", "José", "André", "Howard", "Manuel",
        "Mario", "Carlos", "Yoshi", "Patricia", "Helen", "Philip", "Daniel", "Annette", "Renate", "Jaime",
        "Giovanni", "Catherine", "Alexander", "Simon", "Rita", "Pascale", "Paula", "Karl", "Jytte", "Liz",
        "Matti", "Zbyszek", "Henriette", "Guillermo", "Isabel", "Jonas", "Lúcia", "Horst", "Sergio", "Miguel",
    ];

    public static readonly IReadOnlyList<string> ContactLastNames =
    [
        "Anders", "Trujillo", "Moreno", "Hardy", "Berglund", "Moos", "Citeaux", "Sommer", "Lebihans", "Lincoln",
        "Ashworth", "Simpson", "Chang", "Afonso", "Devon", "Wang", "Fonseca", "Ottlieb", "Labrune", "Mendel",
        "Cruz", "Roel", "Fresnière", "Kloss", "Franken", "Schmitt", "Accorti", "Rodriguez", "Saavedra", "Pereira",
        "Pontes", "Snyder", "Latimer", "Steel", "Bennett", "Cramer", "Tonini", "Roulet", "Pfalzheim", "Yorres",
        "Rovelli", "Dewey", "Feuer", "Crowther", "Müller", "Cartrain", "Parente", "Jablonski", "Petersen", "Nixon",
        "Karttunen", "Piestrzeniewicz", "Richter", "Fernández", "de Castro", "Bergulfsen", "Carvalho", "Kloss", "Gutiérrez", "Henriot",
    ];

    public static readonly IReadOnlyList<string> ContactTitles =
    [
        "Sales Representative", "Owner", "Order Administrator", "Marketing Manager", "Accounting Manager",
        "Sales Agent", "Sales Associate", "Purchasing Manager", "Marketing Assistant", "Owner/Marketing Assistant",
    ];

    public static readonly IReadOnlyList<string> Streets =
    [
        "Obere Str.", "Avda. de la Constitución", "Mataderos", "Hanover Sq.", "Berguvsvägen", "Forsterstr.",
        "place Kléber", "C/ Araquil", "rue des Bouchers", "Tsawassen Blvd.", "Fauntleroy Circus", "Cerrito",
        "Sierras de Granada", "Hauptstr.", "Av. dos Lusíadas", "Berkeley Gardens", "Walserweg", "rue Royale",
        "Kirchgasse", "Rua Orós", "Moralzarzal", "chaussée de Tournai", "Åkergatan", "Berliner Platz",
        "Via Monte Bianco", "Jardim das rosas", "Rambla de Cataluña", "Romero", "Av. Brasil", "King George Blvd.",
        "Grenzacherweg", "Via Ludovico il Moro", "Baker Blvd.", "Elm St.", "Garden House Crowther Way", "Maubelstr.",
    ];
}
