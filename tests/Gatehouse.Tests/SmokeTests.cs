namespace Gatehouse.Tests;

public class SmokeTests
{
    [Fact]
    public void Add_TwoNumbers_Sum() => Assert.Equal(2, 1 + 1);
}
