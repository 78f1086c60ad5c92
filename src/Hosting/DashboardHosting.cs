using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Orleans.Dashboard;
using Orleans.Hosting;

namespace Presence.Hosting;

/// <summary>The Orleans dashboard, as the silo host and the embedded front end serve it.</summary>
public static class DashboardHosting
{
    public const string Path = "/dashboard";

    /// <summary>Live logs stay off the dashboard: it has no authentication of its own.</summary>
    public static ISiloBuilder AddPresenceDashboard(this ISiloBuilder silo) => silo.AddDashboard(options => options.HideTrace = true);

    /// <summary>
    /// The dashboard's page and API at <see cref="Path"/>. Its API (10.4.2) fails with a 500 on
    /// a silo address it cannot parse (<c>/dashboard/SiloProperties/x</c>): bad input gets a 400
    /// here, as everywhere else.
    /// </summary>
    public static IEndpointConventionBuilder MapPresenceDashboard(this IEndpointRouteBuilder endpoints) =>
        endpoints.MapOrleansDashboard(Path).AddEndpointFilter(BadSiloAddressIs400);

    private static async ValueTask<object?> BadSiloAddressIs400(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        try
        {
            return await next(context);
        }
        catch (Exception exception) when (exception.GetBaseException() is FormatException format && !context.HttpContext.Response.HasStarted)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Invalid dashboard request", detail: format.Message);
        }
    }
}
