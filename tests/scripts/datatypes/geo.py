"""Cities on a map with Redis geo commands: add places, measure, search around a point."""

import redis

r = redis.Redis(decode_responses=True)
r.delete("cities", "near-paris")
print(
    r.geoadd(
        "cities",
        [2.3522, 48.8566, "paris", 13.4050, 52.5200, "berlin"]
        + [-0.1276, 51.5072, "london", 4.9041, 52.3676, "amsterdam"],
    )
)
print(round(r.geodist("cities", "paris", "berlin", unit="km")))
print(round(r.geodist("cities", "london", "amsterdam") / 1000))
paris, nowhere = r.geopos("cities", "paris", "nowhere")
print(round(paris[0], 4), round(paris[1], 4), nowhere)
print(r.geosearch("cities", member="amsterdam", radius=600, unit="km", sort="ASC"))
near = r.geosearch(
    "cities", longitude=2.35, latitude=48.85, radius=500, unit="km", withdist=True, sort="ASC"
)
print([(city, round(km)) for city, km in near])
print(r.geosearch("cities", member="berlin", width=1500, height=600, unit="km", sort="DESC"))
print(r.geosearchstore("near-paris", "cities", member="paris", radius=400, unit="km"))
print(r.zcard("cities"), r.zcard("near-paris"))
